#pragma once
// One step of a generated chat message, as the runner's output parser splits it: visible text,
// reasoning ("thinking") text, and tool calls. A response shape writes a delta in its API's
// fields (Ollama: message.content/thinking/tool_calls; OpenAI: delta.content/reasoning_content/
// tool_calls). Without a parser (no tools, no thinking) every delta is content only.
#include <string>

#include <nlohmann/json.hpp>

#include "common/token_logprob.h"

namespace ebb {

struct MessageDelta {
  std::string content;
  std::string thinking;
  // Complete calls only, each {"name": string, "arguments": object}; an array (maybe empty).
  nlohmann::json tool_calls = nlohmann::json::array();
  // The request asked for logprobs: the entries of the tokens this delta's text came from (or of
  // tokens whose text a parser still holds back). Every generated token has one entry.
  std::vector<Logprob> logprobs;

  static MessageDelta text(std::string content) {
    MessageDelta d;
    d.content = std::move(content);
    return d;
  }

  bool empty() const { return content.empty() && thinking.empty() && tool_calls.empty() && logprobs.empty(); }
  void append(const MessageDelta& d) {
    content += d.content;
    thinking += d.thinking;
    for (const auto& c : d.tool_calls) tool_calls.push_back(c);
    logprobs.insert(logprobs.end(), d.logprobs.begin(), d.logprobs.end());
  }
};

}  // namespace ebb
