#include "api/logprob_json.h"

namespace ebb::api {

using json = nlohmann::json;

namespace {

json token_json(const TokenLogprob& t) {
  return {{"token", t.token}, {"logprob", t.logprob}, {"bytes", token_bytes(t.token)}};
}

json entry_json(const Logprob& e, bool always_top) {
  json j = token_json(e.chosen);
  if (always_top || !e.top.empty()) {
    json& top = j["top_logprobs"] = json::array();
    for (const auto& t : e.top) top.push_back(token_json(t));
  }
  return j;
}

// UTF-8 characters in `s`: its bytes that do not continue a character.
size_t characters(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

json ollama_logprobs(const std::vector<Logprob>& entries) {
  json out = json::array();
  for (const auto& e : entries) out.push_back(entry_json(e, false));
  return out;
}

json openai_chat_logprobs(const std::vector<Logprob>& entries) {
  json content = json::array();
  for (const auto& e : entries) content.push_back(entry_json(e, true));
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

json openai_completion_logprobs(const std::vector<Logprob>& entries, size_t& chars_before) {
  json tokens = json::array(), logprobs = json::array(), top = json::array(), offsets = json::array();
  for (const auto& e : entries) {
    tokens.push_back(e.chosen.token);
    logprobs.push_back(e.chosen.logprob);
    json alternatives = json::object();
    for (const auto& t : e.top)
      if (!alternatives.contains(t.token)) alternatives[t.token] = t.logprob;  // the likelier of two same texts
    top.push_back(std::move(alternatives));
    offsets.push_back(chars_before);
    chars_before += characters(e.chosen.token);
  }
  return {{"tokens", std::move(tokens)},
          {"token_logprobs", std::move(logprobs)},
          {"top_logprobs", std::move(top)},
          {"text_offset", std::move(offsets)}};
}

}  // namespace ebb::api
