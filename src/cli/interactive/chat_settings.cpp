#include "cli/interactive/chat_settings.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <stdexcept>

#include "common/human_format.h"

namespace ebb::cli {

using json = nlohmann::json;

namespace {

enum class Type { kInt, kFloat, kBool, kStrings };

// Ollama's api.Options and api.Runner fields, by their JSON names.
const std::map<std::string, Type>& parameter_types() {
  static const std::map<std::string, Type> types = {
      {"num_keep", Type::kInt},
      {"seed", Type::kInt},
      {"num_predict", Type::kInt},
      {"top_k", Type::kInt},
      {"top_p", Type::kFloat},
      {"min_p", Type::kFloat},
      {"typical_p", Type::kFloat},
      {"repeat_last_n", Type::kInt},
      {"temperature", Type::kFloat},
      {"repeat_penalty", Type::kFloat},
      {"presence_penalty", Type::kFloat},
      {"frequency_penalty", Type::kFloat},
      {"stop", Type::kStrings},
      {"num_ctx", Type::kInt},
      {"num_batch", Type::kInt},
      {"num_gpu", Type::kInt},
      {"main_gpu", Type::kInt},
      {"use_mmap", Type::kBool},
      {"num_thread", Type::kInt},
      {"draft_num_predict", Type::kInt},
  };
  return types;
}

// Go's %s of a []string: "[a b]".
std::string go_list(const std::vector<std::string>& values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i) s += (i ? " " : "") + values[i];
  return s + "]";
}

}  // namespace

json parse_parameter(const std::string& name, const std::vector<std::string>& values) {
  const auto& types = parameter_types();
  const auto it = types.find(name);
  if (it == types.end()) throw std::invalid_argument("unknown parameter '" + name + "'");
  const std::string v = values.empty() ? "" : values[0];
  switch (it->second) {
    case Type::kInt: {
      errno = 0;
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || errno == ERANGE || std::isspace(static_cast<unsigned char>(v[0])))
        throw std::invalid_argument("invalid int value " + go_list(values));
      return n;
    }
    case Type::kFloat: {
      errno = 0;
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !std::isfinite(x) || std::isspace(static_cast<unsigned char>(v[0])))
        throw std::invalid_argument("invalid float value " + go_list(values));
      return x;
    }
    case Type::kBool: {
      // Go's strconv.ParseBool.
      for (const char* t : {"1", "t", "T", "TRUE", "true", "True"})
        if (v == t) return true;
      for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
        if (v == f) return false;
      throw std::invalid_argument("invalid bool value " + go_list(values));
    }
    case Type::kStrings: return values;
  }
  return nullptr;
}

std::string parameter_text(const json& value) {
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number()) return go_number(value.get<double>());
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::vector<std::string> items;
    for (const auto& v : value) items.push_back(parameter_text(v));
    return go_list(items);
  }
  return value.dump();
}

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

SetResult apply_set(ChatSettings& s, const std::vector<std::string>& words) {
  SetResult r;
  if (words.size() < 2) {
    r.err = usage_set_text();
    return r;
  }
  const std::string& what = words[1];
  if (what == "history") {
    s.history = true;
    r.history_changed = true;
  } else if (what == "nohistory") {
    s.history = false;
    r.history_changed = true;
  } else if (what == "wordwrap") {
    s.word_wrap = true;
    r.out = "Set 'wordwrap' mode.\n";
  } else if (what == "nowordwrap") {
    s.word_wrap = false;
    r.out = "Set 'nowordwrap' mode.\n";
  } else if (what == "verbose") {
    s.verbose = true;
    r.out = "Set 'verbose' mode.\n";
  } else if (what == "quiet") {
    s.verbose = false;
    r.out = "Set 'quiet' mode.\n";
  } else if (what == "think") {
    r.think_changed = true;
    if (words.size() > 2) {
      s.think = words[2];
      r.out = "Set 'think' mode to '" + words[2] + "'.\n";
    } else {
      s.think = true;
      r.out = "Set 'think' mode.\n";
    }
  } else if (what == "nothink") {
    s.think = false;
    r.think_changed = true;
    r.out = "Set 'nothink' mode.\n";
  } else if (what == "format") {
    if (words.size() < 3 || words[2] != "json") {
      r.out = "Invalid or missing format. For 'json' mode use '/set format json'\n";
    } else {
      s.format = "json";
      r.out = "Set format to 'json' mode.\n";
    }
  } else if (what == "noformat") {
    s.format = nullptr;
    r.out = "Disabled format.\n";
  } else if (what == "parameter") {
    if (words.size() < 4) {
      r.err = usage_parameters_text();
      return r;
    }
    const std::vector<std::string> values(words.begin() + 3, words.end());
    try {
      s.options[words[2]] = parse_parameter(words[2], values);
    } catch (const std::invalid_argument& e) {
      r.out = "Couldn't set parameter: " + json(std::string(e.what())).dump() + "\n";  // Go's %q
      return r;
    }
    std::string joined;
    for (size_t i = 0; i < values.size(); ++i) joined += (i ? ", " : "") + values[i];
    r.out = "Set parameter '" + words[2] + "' to '" + joined + "'\n";
  } else if (what == "system") {
    if (words.size() < 3) {
      r.err = usage_set_text();
      return r;
    }
    r.system = true;
    for (size_t i = 2; i < words.size(); ++i) r.system_text += (i > 2 ? " " : "") + words[i];
  } else {
    r.out = "Unknown command '/set " + what + "'. Type /? for help\n";
  }
  return r;
}

std::string usage_text() {
  return "Available Commands:\n"
         "  /set            Set session variables\n"
         "  /show           Show model information\n"
         "  /load <model>   Load a session or model\n"
         "  /clear          Clear session context\n"
         "  /bye            Exit\n"
         "  /?, /help       Help for a command\n"
         "  /? shortcuts    Help for keyboard shortcuts\n"
         "\n"
         "Use \"\"\" to begin a multi-line message.\n"
         "\n";
}

std::string usage_set_text() {
  return "Available Commands:\n"
         "  /set parameter ...     Set a parameter\n"
         "  /set system <string>   Set system message\n"
         "  /set history           Enable history\n"
         "  /set nohistory         Disable history\n"
         "  /set wordwrap          Enable wordwrap\n"
         "  /set nowordwrap        Disable wordwrap\n"
         "  /set format json       Enable JSON mode\n"
         "  /set noformat          Disable formatting\n"
         "  /set verbose           Show LLM stats\n"
         "  /set quiet             Disable LLM stats\n"
         "  /set think             Enable thinking\n"
         "  /set nothink           Disable thinking\n"
         "\n";
}

std::string usage_show_text() {
  return "Available Commands:\n"
         "  /show info         Show details for this model\n"
         "  /show license      Show model license\n"
         "  /show modelfile    Show Modelfile for this model\n"
         "  /show parameters   Show parameters for this model\n"
         "  /show system       Show system message\n"
         "  /show template     Show prompt template\n"
         "\n";
}

std::string usage_shortcuts_text() {
  return "Available keyboard shortcuts:\n"
         "  Ctrl + a            Move to the beginning of the line (Home)\n"
         "  Ctrl + e            Move to the end of the line (End)\n"
         "   Alt + b            Move back (left) one word\n"
         "   Alt + f            Move forward (right) one word\n"
         "  Ctrl + k            Delete the sentence after the cursor\n"
         "  Ctrl + u            Delete the sentence before the cursor\n"
         "  Ctrl + w            Delete the word before the cursor\n"
         "\n"
         "  Ctrl + l            Clear the screen\n"
         "  Ctrl + c            Stop the model from responding\n"
         "  Ctrl + d            Exit ebb (/bye)\n"
         "\n";
}

std::string usage_parameters_text() {
  return "Available Parameters:\n"
         "  /set parameter seed <int>             Random number seed\n"
         "  /set parameter num_predict <int>      Max number of tokens to predict\n"
         "  /set parameter top_k <int>            Pick from top k num of tokens\n"
         "  /set parameter top_p <float>          Pick token based on sum of probabilities\n"
         "  /set parameter min_p <float>          Pick token based on top token probability * min_p\n"
         "  /set parameter num_ctx <int>          Set the context size\n"
         "  /set parameter temperature <float>    Set creativity level\n"
         "  /set parameter repeat_penalty <float> How strongly to penalize repetitions\n"
         "  /set parameter repeat_last_n <int>    Set how far back to look for repetitions\n"
         "  /set parameter num_gpu <int>          The number of layers to send to the GPU\n"
         "  /set parameter stop <string> <string> ...   Set the stop parameters\n"
         "\n";
}

}  // namespace ebb::cli
