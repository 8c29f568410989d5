// `ebb run MODEL [PROMPT...]`, as `ollama run`: one streamed answer to a prompt (given, or read
// from stdin when it is not a terminal), else an interactive chat (chat.cpp).
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/interactive/response_printer.h"
#include "cli/run.h"
#include "cli/terminal.h"
#include "common/units.h"

namespace ebb::cli {

using json = nlohmann::json;

json request_base(const RunOptions& o) {
  json body = {{"model", o.model}};
  if (!o.settings.options.empty()) body["options"] = o.settings.options;
  if (!o.settings.format.is_null()) body["format"] = o.settings.format;
  if (!o.keep_alive.is_null()) body["keep_alive"] = o.keep_alive;
  if (!o.settings.think.is_null()) body["think"] = o.settings.think;
  return body;
}

Answer stream_answer(const RunOptions& o, const std::string& path, const json& body, bool chat) {
  const bool tty = is_terminal(STDOUT_FILENO);
  ResponsePrinter printer(o.settings.word_wrap && tty ? terminal_columns(STDOUT_FILENO) : 0, tty);
  Answer a;
  NoEcho quiet(STDIN_FILENO);  // nothing when stdin is not a terminal
  Cancellation cancel;
  InterruptWatch interrupt([&cancel] { cancel.cancel(); });
  Spinner spinner;
  bool spinning = true;
  const auto print = [](const std::string& text) {
    if (!text.empty()) std::cout << text << std::flush;
  };
  try {
    post_ndjson(
        o.address, path, body,
        [&](const json& j) {
          std::string thinking, content;
          const json& m = chat ? j.value("message", json::object()) : j;
          if (m.is_object()) {
            thinking = m.value("thinking", "");
            content = m.value(chat ? "content" : "response", "");
          }
          if (o.hide_thinking) thinking.clear();
          if (spinning && (!thinking.empty() || !content.empty())) {
            spinner.stop();
            spinning = false;
          }
          print(printer.add(thinking, content));
          if (j.value("done", false)) a.final = j;
        },
        &cancel);
  } catch (...) {
    spinner.stop();
    print(printer.end());
    if (printer.mid_line()) std::cout << std::endl;
    throw;
  }
  spinner.stop();
  print(printer.end());
  a.cancelled = cancel.cancelled();
  a.content = printer.content();
  a.thinking = printer.thinking();
  a.mid_line = printer.mid_line();
  return a;
}

void end_answer(const RunOptions& o, const Answer& a) {
  if (a.cancelled) {
    if (a.mid_line) std::cout << std::endl;
    return;
  }
  std::cout << "\n" << std::endl;
  if (o.settings.verbose && a.final.is_object()) std::cerr << timing_summary(a.final) << std::flush;
}

json show_model(const RunOptions& o, const std::string& model) {
  try {
    return post_json(o.address, "/api/show", {{"model", model}});
  } catch (const HttpError& e) {
    if (e.status() == 404) throw std::runtime_error("model \"" + model + "\" not found");
    throw;
  }
}

namespace {
bool has_capability(const json& show, const std::string& cap) {
  const json caps = show.value("capabilities", json::array());
  return caps.is_array() && std::find(caps.begin(), caps.end(), cap) != caps.end();
}
}  // namespace

void infer_think(RunOptions& o, const json& show) {
  if (o.think_set) return;
  o.settings.think = has_capability(show, "thinking") ? json(true) : json();
}

void load_model(const RunOptions& o) {
  Spinner spinner;
  json body = {{"model", o.model}};
  if (!o.keep_alive.is_null()) body["keep_alive"] = o.keep_alive;
  try {
    post_ndjson(o.address, "/api/generate", body, [](const json&) {});
  } catch (const HttpError& e) {
    if (e.status() == 404) throw std::runtime_error("model \"" + o.model + "\" not found");
    throw;
  }
}

namespace {

struct RunArgs {
  std::string host, model, keep_alive, format, think;
  std::vector<std::string> prompt;
  int num_predict = 0;  // 0: the server's default
  bool verbose = false, nowordwrap = false, hide_thinking = false;
};

// One answer to `prompt` over /api/generate; an empty prompt only loads the model.
int run_once(const RunOptions& o, const std::string& prompt) {
  json body = request_base(o);
  body["prompt"] = prompt;
  if (prompt.empty()) {
    load_model(o);
    return 0;
  }
  const Answer a = stream_answer(o, "/api/generate", body, false);
  end_answer(o, a);
  return 0;
}

// An embedding model embeds the prompt and prints the vector, as ollama does.
int run_embedding(const RunOptions& o, const std::string& prompt) {
  if (prompt.empty())
    throw std::runtime_error("embedding models require input text. Usage: ebb run " + o.model + " \"your text here\"");
  json body = {{"model", o.model}, {"input", prompt}};
  if (!o.keep_alive.is_null()) body["keep_alive"] = o.keep_alive;
  const json r = post_json(o.address, "/api/embed", body);
  const json e = r.value("embeddings", json::array());
  if (!e.is_array() || e.empty()) throw std::runtime_error("no embeddings returned");
  std::cout << e[0].dump() << std::endl;
  return 0;
}

int run(const RunArgs& a) {
  RunOptions o;
  o.address = server_address(a.host);
  o.model = a.model;
  o.settings.verbose = a.verbose;
  o.settings.word_wrap = !a.nowordwrap;
  o.hide_thinking = a.hide_thinking;
  if (a.num_predict != 0) o.settings.options["num_predict"] = a.num_predict;
  if (!a.keep_alive.empty()) {
    parse_keep_alive_text(a.keep_alive);  // throws std::invalid_argument for a bad one
    o.keep_alive = a.keep_alive;
  }
  if (a.format == "json") {
    o.settings.format = "json";
  } else if (!a.format.empty()) {
    json schema = json::parse(a.format, nullptr, false);
    if (!schema.is_object()) throw std::runtime_error("invalid format: '" + a.format + "' (json or a JSON schema)");
    o.settings.format = schema;
  }
  if (!a.think.empty()) {
    o.think_set = true;
    if (a.think == "true")
      o.settings.think = true;
    else if (a.think == "false")
      o.settings.think = false;
    else if (a.think == "high" || a.think == "medium" || a.think == "low")
      o.settings.think = a.think;
    else
      throw std::runtime_error("invalid value for --think: \"" + a.think +
                               "\" (must be true, false, high, medium, or low)");
  }

  // As ollama: stdin that is not a terminal comes first in the prompt, then the arguments.
  std::vector<std::string> prompts = a.prompt;
  bool interactive = true;
  if (!is_terminal(STDIN_FILENO)) {
    std::string in(std::istreambuf_iterator<char>(std::cin), {});
    if (!in.empty()) prompts.insert(prompts.begin(), in);
    interactive = false;
  }
  std::string prompt;
  for (size_t i = 0; i < prompts.size(); ++i) prompt += (i ? " " : "") + prompts[i];
  if (!prompts.empty() || !is_terminal(STDOUT_FILENO)) interactive = false;

  const json show = show_model(o, o.model);
  infer_think(o, show);
  if (o.think_set && o.settings.think != false && !has_capability(show, "thinking"))
    std::cerr << "warning: model \"" << o.model << "\" does not support thinking output" << std::endl;
  if (has_capability(show, "embedding") && !has_capability(show, "completion")) return run_embedding(o, prompt);
  if (!interactive) return run_once(o, prompt);
  load_model(o);
  return run_interactive(std::move(o));
}

}  // namespace

void add_run_command(CLI::App& root) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = root.add_subcommand("run", "chat with a model, or answer one prompt (as ollama run)");
  cmd->add_option("model", a->model, "model name")->required();
  cmd->add_option("prompt", a->prompt, "prompt; omitted: read stdin, or chat interactively on a terminal");
  add_host_option(cmd, a->host);
  cmd->add_option("--keepalive,--keep-alive", a->keep_alive,
                  "how long the model stays loaded after this request (e.g. 5m, 0, -1)");
  cmd->add_option("--format", a->format, "response format: json, or a JSON schema");
  cmd->add_flag(
      "--think{true}", a->think,
      "think before answering: --think, --think=false, --think=low|medium|high (default: when the model can)");
  cmd->add_flag("--hidethinking", a->hide_thinking, "do not print the thinking");
  cmd->add_flag("--verbose", a->verbose, "print timings after each answer");
  cmd->add_flag("--nowordwrap", a->nowordwrap, "do not wrap words at the terminal's width");
  cmd->add_option("--num-predict", a->num_predict, "most tokens to generate per answer");
  cmd->callback([a] {
    try {
      std::exit(run(*a));
    } catch (const std::exception& e) {
      std::cerr << "Error: " << e.what() << std::endl;
      std::exit(1);
    }
  });
}

}  // namespace ebb::cli
