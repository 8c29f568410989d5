#pragma once
// `ebb run`: what the one-shot answer and the interactive chat share.
#include <string>

#include <nlohmann/json.hpp>

#include "cli/interactive/chat_settings.h"
#include "common/client_address.h"

namespace ebb::cli {

struct RunOptions {
  ClientAddress address;
  std::string model;
  ChatSettings settings;       // options, system, format, think, verbose, word wrap
  nlohmann::json keep_alive;   // null: the server's default
  bool think_set = false;      // --think or /set [no]think: not inferred from the model
  bool hide_thinking = false;  // --hidethinking
};

// The fields every request of the session carries: model, options, format, keep_alive, think.
nlohmann::json request_base(const RunOptions& o);

// One streamed answer, printed to stdout as it arrives (a spinner on stderr until it starts;
// Ctrl-C cancels it by closing the connection). `chat`: an /api/chat stream, else /api/generate.
struct Answer {
  std::string content, thinking;
  nlohmann::json final;  // the last ("done") object; null when the stream did not finish
  bool cancelled = false;
  bool mid_line = false;  // the printed text does not end with a newline
};
Answer stream_answer(const RunOptions& o, const std::string& path, const nlohmann::json& body, bool chat);

// After a finished answer: the blank line, and the timings with --verbose.
void end_answer(const RunOptions& o, const Answer& a);

// The model's /api/show answer; a 404 throws std::runtime_error("model \"x\" not found").
nlohmann::json show_model(const RunOptions& o, const std::string& model);

// ollama's choice when --think is not given: think when the model can.
void infer_think(RunOptions& o, const nlohmann::json& show);

// Loads the model (POST /api/generate without a prompt), with a spinner on a terminal.
void load_model(const RunOptions& o);

// The chat: reads lines until /bye or Ctrl-D. Returns the exit status.
int run_interactive(RunOptions o);

}  // namespace ebb::cli
