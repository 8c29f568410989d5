// `ebb run MODEL [PROMPT]`: streams an answer from a running server; without a prompt, a chat.
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/http_client.h"

namespace ebb::cli {
namespace {

using json = nlohmann::json;

struct RunArgs {
  std::string host, model, prompt, keep_alive;
  int num_predict = 0;  // 0: the server's default
  bool verbose = false;
};

void print_stats(const json& j) {
  double eval_s = j.value("eval_duration", int64_t{0}) / 1e9;
  double prompt_s = j.value("prompt_eval_duration", int64_t{0}) / 1e9;
  std::cerr << "\ntotal duration:       " << j.value("total_duration", int64_t{0}) / 1e9 << " s\n"
            << "load duration:        " << j.value("load_duration", int64_t{0}) / 1e9 << " s\n"
            << "prompt eval count:    " << j.value("prompt_eval_count", 0) << " token(s)\n"
            << "prompt eval rate:     " << (prompt_s > 0 ? j.value("prompt_eval_count", 0) / prompt_s : 0)
            << " tokens/s\n"
            << "eval count:           " << j.value("eval_count", 0) << " token(s)\n"
            << "eval rate:            " << (eval_s > 0 ? j.value("eval_count", 0) / eval_s : 0) << " tokens/s\n";
}

int run(const RunArgs& a) {
  const ClientAddress addr = server_address(a.host);
  json base = {{"model", a.model}};
  if (!a.keep_alive.empty()) base["keep_alive"] = a.keep_alive;
  if (a.num_predict != 0) base["options"] = {{"num_predict", a.num_predict}};
  std::string prompt = a.prompt;
  if (prompt.empty() && !isatty(STDIN_FILENO)) {
    prompt.assign(std::istreambuf_iterator<char>(std::cin), {});
  }
  if (!prompt.empty()) {
    json body = base;
    body["prompt"] = prompt;
    post_ndjson(addr, "/api/generate", body, [&](const json& j) {
      std::cout << j.value("response", "") << std::flush;
      if (j.value("done", false)) {
        std::cout << std::endl;
        if (a.verbose) print_stats(j);
      }
    });
    return 0;
  }
  // Interactive chat with history.
  json messages = json::array();
  std::string line;
  while (true) {
    std::cout << ">>> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line == "/bye") break;
    if (line.empty()) continue;
    messages.push_back({{"role", "user"}, {"content", line}});
    json body = base;
    body["messages"] = messages;
    std::string answer;
    post_ndjson(addr, "/api/chat", body, [&](const json& j) {
      std::string piece = j.value("message", json::object()).value("content", "");
      answer += piece;
      std::cout << piece << std::flush;
      if (j.value("done", false)) {
        std::cout << "\n" << std::endl;
        if (a.verbose) print_stats(j);
      }
    });
    messages.push_back({{"role", "assistant"}, {"content", answer}});
  }
  return 0;
}

}  // namespace

void add_run_command(CLI::App& root) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = root.add_subcommand("run", "stream an answer from a running server (no prompt: interactive chat)");
  cmd->add_option("model", a->model, "model name")->required();
  cmd->add_option("prompt", a->prompt, "prompt; omitted: read stdin, or chat interactively on a terminal");
  add_host_option(cmd, a->host);
  cmd->add_option("--keep-alive", a->keep_alive, "how long the model stays loaded after this request (e.g. 5m, 0, -1)");
  cmd->add_option("--num-predict", a->num_predict, "most tokens to generate per answer");
  cmd->add_flag("--verbose", a->verbose, "print timings");
  cmd->callback([a] {
    try {
      std::exit(run(*a));
    } catch (const std::exception& e) {
      std::cerr << "\nError: " << e.what() << std::endl;
      std::exit(1);
    }
  });
}

}  // namespace ebb::cli
