#include "api/openai_shape.h"

#include <chrono>
#include <random>

#include "api/logprob_json.h"

namespace ebb::api {

using json = nlohmann::json;

std::string openai_error_type(int status) {
  if (status == 404) return "not_found_error";
  if (status >= 400 && status < 500) return "invalid_request_error";
  return "api_error";
}

json openai_error(int status, const std::string& message) {
  json code = nullptr;
  if (status == 404 && message.rfind("model '", 0) == 0) code = "model_not_found";
  return {{"error", {{"message", message}, {"type", openai_error_type(status)}, {"param", nullptr}, {"code", code}}}};
}

json openai_usage(const json& done) {
  const int64_t evaluated = done.value("prompt_eval_count", int64_t{0});
  const int64_t prompt = std::max(done.value("prompt_tokens", evaluated), evaluated);
  const int64_t completion = done.value("eval_count", int64_t{0});
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", prompt - evaluated}}}};
}

std::string openai_id(const std::string& prefix) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof kChars - 2);
  std::string id = prefix;
  for (int i = 0; i < 24; ++i) id += kChars[pick(rng)];
  return id;
}

OpenAIShape::OpenAIShape(Kind kind, std::string model, bool include_usage, bool logprobs)
    : OpenAIShape(
          kind, std::move(model), include_usage, openai_id(kind == Kind::Chat ? "chatcmpl-" : "cmpl-"),
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(),
          logprobs) {}

OpenAIShape::OpenAIShape(Kind kind, std::string model, bool include_usage, std::string id, int64_t created,
                         bool logprobs)
    : kind_(kind),
      model_(std::move(model)),
      include_usage_(include_usage),
      logprobs_(logprobs),
      id_(std::move(id)),
      created_(created) {}

json OpenAIShape::tool_calls(const json& calls, bool with_index) {
  json out = json::array();
  for (const auto& c : calls) {
    const json& args = c.contains("arguments") ? c["arguments"] : json::object();
    json call = {
        {"id", c.contains("id") && c["id"].is_string() ? c["id"].get<std::string>() : openai_id("call_")},
        {"type", "function"},
        {"function",
         {{"name", c.value("name", "")}, {"arguments", args.is_string() ? args.get<std::string>() : wire_json(args)}}}};
    if (with_index) call["index"] = c.value("index", out.size());
    out.push_back(std::move(call));
  }
  return out;
}

json OpenAIShape::object(const char* type) const {
  return {{"id", id_}, {"object", type}, {"created", created_}, {"model", model_}, {"system_fingerprint", "fp_ebb"}};
}

json OpenAIShape::choice_chunk(json choice) const {
  const bool chat = kind_ == Kind::Chat;
  json j = object(chat ? "chat.completion.chunk" : "text_completion");
  choice["index"] = 0;
  if (!choice.contains("logprobs")) choice["logprobs"] = nullptr;
  if (!choice.contains("finish_reason")) choice["finish_reason"] = nullptr;
  j["choices"] = json::array({std::move(choice)});
  if (include_usage_) j["usage"] = nullptr;  // as OpenAI: null in every chunk but the usage chunk
  return j;
}

std::string OpenAIShape::finish_reason(const json& done, bool tool_calls) const {
  if (done.value("done_reason", "stop") == "length") return "length";
  return tool_calls ? "tool_calls" : "stop";
}

json OpenAIShape::choice_logprobs(const std::vector<Logprob>& entries, bool streamed) const {
  if (kind_ == Kind::Chat) return openai_chat_logprobs(entries);
  size_t chars = streamed ? streamed_chars_.load() : 0;
  json j = openai_completion_logprobs(entries, chars);
  if (streamed) streamed_chars_ = chars;
  return j;
}

std::string OpenAIShape::opening() const {
  if (kind_ != Kind::Chat) return "";
  return event(choice_chunk({{"delta", {{"role", "assistant"}, {"content", ""}}}}));
}

std::string OpenAIShape::chunk(const MessageDelta& d) const {
  json choice = json::object();
  if (logprobs_ && !d.logprobs.empty()) choice["logprobs"] = choice_logprobs(d.logprobs, true);
  if (kind_ == Kind::Completion) {
    choice["text"] = d.content;
    return event(choice_chunk(std::move(choice)));
  }
  json delta = json::object();
  if (!d.content.empty()) delta["content"] = d.content;
  if (!d.thinking.empty()) delta["reasoning_content"] = d.thinking;
  if (!d.tool_calls.empty()) {
    delta["tool_calls"] = tool_calls(d.tool_calls, true);
    sent_tool_calls_ = true;
  }
  choice["delta"] = std::move(delta);
  return event(choice_chunk(std::move(choice)));
}

std::string OpenAIShape::final(const json& done, Timing) const {
  json last = {{"finish_reason", finish_reason(done, sent_tool_calls_)}};
  if (kind_ == Kind::Chat)
    last["delta"] = json::object();
  else
    last["text"] = "";
  std::string out = event(choice_chunk(std::move(last)));
  if (include_usage_) {
    json usage = object(kind_ == Kind::Chat ? "chat.completion.chunk" : "text_completion");
    usage["choices"] = json::array();
    usage["usage"] = openai_usage(done);
    out += event(usage);
  }
  return out + "data: [DONE]\n\n";
}

std::string OpenAIShape::error(const std::string& message) const { return event(openai_error(500, message)); }

json OpenAIShape::whole(const MessageDelta& m, const json& done, Timing) const {
  const bool calls = !m.tool_calls.empty();
  json choice = {{"index", 0},
                 {"logprobs", logprobs_ ? choice_logprobs(m.logprobs, false) : json(nullptr)},
                 {"finish_reason", finish_reason(done, calls)}};
  json j;
  if (kind_ == Kind::Chat) {
    j = object("chat.completion");
    json& msg = choice["message"] = {{"role", "assistant"}};
    // As OpenAI: a message that only calls tools has "content": null.
    msg["content"] = calls && m.content.empty() ? json(nullptr) : json(m.content);
    if (!m.thinking.empty()) msg["reasoning_content"] = m.thinking;
    if (calls) msg["tool_calls"] = tool_calls(m.tool_calls, false);
  } else {
    j = object("text_completion");
    choice["text"] = m.content;
  }
  j["choices"] = json::array({std::move(choice)});
  j["usage"] = openai_usage(done);
  return j;
}

}  // namespace ebb::api
