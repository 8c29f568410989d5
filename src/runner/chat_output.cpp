#include "runner/chat_output.h"

#include <nlohmann/json.hpp>

namespace ebb::runner {

using json = nlohmann::json;

namespace {

// What of `now` lies past the `sent` bytes already out. A parser that revised text it had
// already given (it cannot happen with llama-common's lenient parse of a growing text, but a
// client must never see garbage) gives nothing more for that field.
std::string past(const std::string& now, size_t& sent) {
  if (now.size() <= sent) return "";
  std::string out = now.substr(sent);
  sent = now.size();
  return out;
}

json call_json(const engine::ToolCall& c, size_t index) {
  json args = json::parse(c.arguments, nullptr, false);
  if (args.is_discarded()) args = c.arguments;  // not JSON: the text, as the model wrote it
  json j = {{"index", index}, {"name", c.name}, {"arguments", args}};
  if (!c.id.empty()) j["id"] = c.id;
  return j;
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Reasoning as Ollama gives it: without the newlines around it inside the think block. Trailing
// space is held back while streaming (it is cut if the block ends there), so what went out
// stays a prefix of what follows.
std::string trimmed(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && is_space(s[a])) ++a;
  while (b > a && is_space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

std::string without_leading_space(const std::string& s) {
  size_t a = 0;
  while (a < s.size() && is_space(s[a])) ++a;
  return s.substr(a);
}

}  // namespace

MessageDelta ChatOutput::push(const std::string& text) {
  if (text.empty()) return {};
  generated_ += text;
  return advance(true);
}

MessageDelta ChatOutput::finish() { return advance(false); }

MessageDelta ChatOutput::advance(bool partial) {
  engine::ParsedMessage m;
  try {
    m = parser_->parse(generated_, partial);
  } catch (const std::exception&) {
    if (partial) return {};                         // more text may make it parse
    m = engine::ParsedMessage{generated_, "", {}};  // not the format after all: it is all content
  }
  MessageDelta d;
  // The answer after a reasoning block starts at its first visible character.
  d.content = past(m.thinking.empty() ? m.content : without_leading_space(m.content), content_sent_);
  std::string thinking = past(trimmed(m.thinking), thinking_sent_);
  if (keep_thinking_) d.thinking = std::move(thinking);
  // While streaming, the last call may still grow: only those before it are complete.
  const size_t complete = partial && !m.tool_calls.empty() ? m.tool_calls.size() - 1 : m.tool_calls.size();
  for (; calls_sent_ < complete; ++calls_sent_)
    d.tool_calls.push_back(call_json(m.tool_calls[calls_sent_], calls_sent_));
  return d;
}

}  // namespace ebb::runner
