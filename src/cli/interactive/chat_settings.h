#pragma once
// The chat's session settings and its `/set` command, as ollama's `run` has them.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebb::cli {

struct ChatSettings {
  nlohmann::json options = nlohmann::json::object();  // /set parameter: sent as "options"
  std::string system;                                 // /set system
  nlohmann::json format;                              // null, "json" or a JSON schema
  nlohmann::json think;                               // null (not sent), true, false, "high"...
  bool verbose = false;                               // timings after each answer
  bool word_wrap = true;
  bool history = true;  // lines are saved to the history file
};

// A parameter as ollama's api.FormatParams types it: integers, floats, use_mmap a boolean, stop a
// list of strings. Throws std::invalid_argument with ollama's text: "unknown parameter 'x'",
// "invalid int value [x]", "invalid float value [x]", "invalid bool value [x]".
nlohmann::json parse_parameter(const std::string& name, const std::vector<std::string>& values);

// A parameter's value as `/show parameters` prints it (Go's %v): 3, 0.7, true, [a b].
std::string parameter_text(const nlohmann::json& value);

// What `/set ...` did.
struct SetResult {
  std::string out;             // for stdout
  std::string err;             // for stderr (usage texts)
  bool think_changed = false;  // the caller checks that the model can think
  bool history_changed = false;
  bool system = false;  // `/set system REST`: system_text goes to InputAssembler::begin_system
  std::string system_text;
};

// Applies `/set ...` (`words`: the line split at blanks, "/set" first) to `settings`.
SetResult apply_set(ChatSettings& settings, const std::vector<std::string>& words);

// The usage texts of `/?`, `/? set`, `/? show`, `/? shortcuts` and `/set parameter`.
std::string usage_text();
std::string usage_set_text();
std::string usage_show_text();
std::string usage_shortcuts_text();
std::string usage_parameters_text();

// `line` split at blanks.
std::vector<std::string> split_words(const std::string& line);

}  // namespace ebb::cli
