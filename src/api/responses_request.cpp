#include "api/responses_request.h"

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "api/openai_request.h"

namespace ebb::api {

using json = nlohmann::json;

namespace {

constexpr const char* kStateless = "ebb's /v1/responses is stateless: ";

void need(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

bool given(const json& body, const char* key) { return body.contains(key) && !body[key].is_null(); }

std::string type_of(const json& x) { return x.is_object() && x.value("type", json()).is_string() ? x["type"] : ""; }

// A string field of an item; `what` names the item in the message.
std::string string_field(const json& x, const char* key, const std::string& what) {
  need(x.value(key, json()).is_string(), what + " needs a string '" + key + "'");
  return x[key];
}

// Responses content parts as Chat Completions parts: input_text and output_text are text.
json chat_parts(const json& parts, const std::string& what) {
  need(parts.is_array(), what + ": 'content' must be a string or an array of content parts");
  json out = json::array();
  for (const auto& p : parts) {
    const std::string type = type_of(p);
    if (type == "input_image") throw std::invalid_argument("images are not supported: ebb has no vision support yet");
    need(type != "input_file", "file inputs are not supported");
    if (type == "refusal") {
      out.push_back({{"type", "refusal"}, {"refusal", string_field(p, "refusal", "a refusal part")}});
      continue;
    }
    need(type == "input_text" || type == "output_text",
         what + ": content parts of type '" + type + "' are not supported (input_text, output_text)");
    out.push_back({{"type", "text"}, {"text", string_field(p, "text", "an " + type + " part")}});
  }
  return out;
}

// A content (or function_call_output's output) that is a string or text parts, as one string.
std::string text_of(const json& content, const std::string& what) {
  if (content.is_string()) return content;
  std::string text;
  for (const auto& p : chat_parts(content, what)) text += p.value("text", p.value("refusal", ""));
  return text;
}

// A reasoning item's text: its content (reasoning_text parts, the whole reasoning) when given,
// else its summary (summary_text parts, which is where ebb and Ollama put the thinking).
std::string reasoning_text(const json& item) {
  std::string text;
  for (const char* key : {"content", "summary"}) {
    if (!given(item, key)) continue;
    need(item[key].is_array(), std::string("a reasoning item's '") + key + "' must be an array");
    for (const auto& p : item[key]) {
      need(p.is_object() && p.value("text", json()).is_string(),
           std::string("each part of a reasoning item's '") + key + "' needs a string 'text'");
      if (!text.empty()) text += "\n\n";
      text += p["text"].get<std::string>();
    }
    if (!text.empty()) break;
  }
  return text;
}

class MessagesBuilder {
 public:
  void add(const json& item, size_t index) {
    const std::string where = "input[" + std::to_string(index) + "]";
    need(item.is_object(), where + " must be an object");
    std::string type = type_of(item);
    if (type.empty() && !given(item, "type") && item.value("role", json()).is_string()) type = "message";
    need(!type.empty(), where + " needs a string 'type'");
    if (type == "message")
      message(item, where);
    else if (type == "function_call")
      function_call(item, where);
    else if (type == "function_call_output")
      function_call_output(item, where);
    else if (type == "reasoning")
      thinking_ = reasoning_text(item);
    else if (type == "item_reference")
      throw std::invalid_argument(std::string(kStateless) +
                                  "'item_reference' inputs are not supported; send the items");
    else
      throw std::invalid_argument(where + ": input items of type '" + type +
                                  "' are not supported (message, function_call, function_call_output, reasoning)");
  }

  json take() { return std::move(messages_); }
  void push(json m) { messages_.push_back(std::move(m)); }

 private:
  void message(const json& item, const std::string& where) {
    const std::string role = string_field(item, "role", where);
    need(role == "user" || role == "system" || role == "developer" || role == "assistant",
         where + ": unsupported message role '" + role + "' (user, system, developer, assistant)");
    const json content = given(item, "content") ? item["content"] : json("");
    json m = {{"role", role}, {"content", content.is_string() ? content : chat_parts(content, where)}};
    if (role == "assistant") attach_thinking(m);
    messages_.push_back(std::move(m));
  }

  // An assistant's tool call; the calls that follow an assistant turn belong to it.
  void function_call(const json& item, const std::string& where) {
    json call = {
        {"id", string_field(item, "call_id", where)},
        {"type", "function"},
        {"function",
         {{"name", string_field(item, "name", where)}, {"arguments", string_field(item, "arguments", where)}}}};
    if (messages_.empty() || messages_.back()["role"] != "assistant") {
      json m = {{"role", "assistant"}, {"content", nullptr}};
      attach_thinking(m);
      messages_.push_back(std::move(m));
    }
    json& last = messages_.back();
    if (!last.contains("tool_calls")) last["tool_calls"] = json::array();
    last["tool_calls"].push_back(std::move(call));
  }

  void function_call_output(const json& item, const std::string& where) {
    need(given(item, "output"), where + " needs an 'output'");
    messages_.push_back({{"role", "tool"},
                         {"tool_call_id", string_field(item, "call_id", where)},
                         {"content", text_of(item["output"], where)}});
  }

  // Reasoning goes with the assistant turn after it; reasoning that no turn follows is dropped.
  void attach_thinking(json& m) {
    if (!thinking_.empty()) m["reasoning_content"] = std::exchange(thinking_, "");
  }

  json messages_ = json::array();
  std::string thinking_;
};

json messages_from_input(const json& body) {
  MessagesBuilder b;
  if (given(body, "instructions")) {
    need(body["instructions"].is_string(), "'instructions' must be a string");
    b.push({{"role", "system"}, {"content", body["instructions"]}});
  }
  need(given(body, "input"), "'input' is required");
  const json& input = body["input"];
  if (input.is_string()) {
    b.push({{"role", "user"}, {"content", input}});
  } else {
    need(input.is_array(), "'input' must be a string or an array of input items");
    for (size_t i = 0; i < input.size(); ++i) b.add(input[i], i);
  }
  json messages = b.take();
  need(!messages.empty(), "'input' must not be empty");
  return messages;
}

// Responses' flat function tools ({"type", "name", "description", "parameters", "strict"}) as
// Chat Completions' nested ones.
json chat_tools(const json& tools) {
  need(tools.is_array(), "'tools' must be an array");
  json out = json::array();
  for (const auto& t : tools) {
    const std::string type = type_of(t);
    need(type == "function", "tools of type '" + type + "' are not supported: ebb serves function tools only");
    json f = {{"name", string_field(t, "name", "a function tool")}};
    for (const char* key : {"description", "parameters", "strict"})
      if (given(t, key)) f[key] = t[key];
    out.push_back({{"type", "function"}, {"function", std::move(f)}});
  }
  return out;
}

json chat_tool_choice(const json& choice) {
  constexpr const char* kChoices =
      "'tool_choice' must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"name\"}";
  if (choice.is_string()) {
    need(choice == "auto" || choice == "none" || choice == "required", kChoices);
    return choice;
  }
  need(type_of(choice) == "function" && choice.value("name", json()).is_string(), kChoices);
  return {{"type", "function"}, {"function", {{"name", choice["name"]}}}};
}

// text.format as Chat Completions' response_format.
json response_format(const json& text) {
  need(text.is_object(), "'text' must be an object");
  if (!given(text, "format")) return nullptr;
  const json& f = text["format"];
  const std::string type = type_of(f);
  if (type == "text" || type == "json_object") return {{"type", type}};
  need(type == "json_schema", "'text.format.type' must be \"text\", \"json_object\" or \"json_schema\"");
  need(f.value("schema", json()).is_object(), "'text.format.schema' must be a JSON schema object");
  json js = {{"schema", f["schema"]}};
  for (const char* key : {"name", "strict"})
    if (given(f, key)) js[key] = f[key];
  return {{"type", "json_schema"}, {"json_schema", std::move(js)}};
}

void check_stateless(const json& body) {
  for (const char* key : {"previous_response_id", "conversation"})
    need(!given(body, key),
         std::string(kStateless) + "'" + key + "' is not supported; send the whole conversation in 'input'");
  need(!given(body, "background") || body["background"] == false,
       std::string(kStateless) + "background responses are not supported");
  need(!given(body, "prompt"), std::string(kStateless) + "stored prompts ('prompt') are not supported");
}

// Fields accepted and ignored, checked for their type as OpenAI does.
void check_ignored(const json& body) {
  for (const char* key : {"store", "parallel_tool_calls"})
    need(!given(body, key) || body[key].is_boolean(), std::string("'") + key + "' must be a boolean");
  need(!given(body, "metadata") || body["metadata"].is_object(), "'metadata' must be an object");
  need(!given(body, "user") || body["user"].is_string(), "'user' must be a string");
  need(!given(body, "truncation") || body["truncation"] == "auto" || body["truncation"] == "disabled",
       "'truncation' must be \"auto\" or \"disabled\"");
}

// The /v1/chat/completions body the Responses body asks for.
json chat_completion_from_responses(const json& body) {
  check_stateless(body);
  check_ignored(body);
  json chat = {{"messages", messages_from_input(body)}};
  for (const char* key : {"model", "stream", "temperature", "top_p", "grammar"})
    if (body.contains(key)) chat[key] = body[key];
  if (given(body, "max_output_tokens")) {
    const json& n = body["max_output_tokens"];
    need(n.is_number_integer() && n.get<int64_t>() >= 1 && n.get<int64_t>() <= std::numeric_limits<int32_t>::max(),
         "'max_output_tokens' must be a positive integer");
    chat["max_completion_tokens"] = body["max_output_tokens"];
  }
  if (given(body, "tools")) chat["tools"] = chat_tools(body["tools"]);
  if (given(body, "tool_choice")) chat["tool_choice"] = chat_tool_choice(body["tool_choice"]);
  if (given(body, "text"))
    if (json rf = response_format(body["text"]); !rf.is_null()) chat["response_format"] = std::move(rf);
  if (given(body, "reasoning")) {
    need(body["reasoning"].is_object(), "'reasoning' must be an object");
    if (given(body["reasoning"], "effort")) {
      const json& e = body["reasoning"]["effort"];
      need(e == "none" || e == "minimal" || e == "low" || e == "medium" || e == "high" || e == "xhigh",
           "'reasoning.effort' must be \"none\", \"minimal\", \"low\", \"medium\", \"high\" or \"xhigh\"");
      chat["reasoning_effort"] = e;
    }
  }
  return chat;
}

}  // namespace

json chat_body_from_responses(const json& body) {
  json chat = chat_body_from_openai(chat_completion_from_responses(body));
  if (body.contains("keep_alive")) chat["keep_alive"] = body["keep_alive"];  // ebb's extension
  return chat;
}

json response_settings(const json& body) {
  auto or_default = [&](const char* key, json fallback) { return given(body, key) ? body[key] : fallback; };
  const json reasoning = given(body, "reasoning") ? body["reasoning"] : json::object();
  const json text = given(body, "text") ? body["text"] : json::object();
  return {
      {"instructions", or_default("instructions", nullptr)},
      {"max_output_tokens", or_default("max_output_tokens", nullptr)},
      {"parallel_tool_calls", or_default("parallel_tool_calls", true)},
      {"previous_response_id", nullptr},
      {"reasoning", {{"effort", reasoning.value("effort", json())}, {"summary", reasoning.value("summary", json())}}},
      {"store", false},
      {"temperature", or_default("temperature", 1.0)},
      {"text", {{"format", given(text, "format") ? text["format"] : json{{"type", "text"}}}}},
      {"tool_choice", or_default("tool_choice", "auto")},
      {"tools", or_default("tools", json::array())},
      {"top_p", or_default("top_p", 1.0)},
      {"truncation", or_default("truncation", "disabled")},
      {"user", or_default("user", nullptr)},
      {"metadata", or_default("metadata", json::object())}};
}

ResponsesRequest parse_responses(const json& body) {
  ResponsesRequest r;
  r.generate = parse_generate_request(chat_body_from_responses(body), true);
  r.settings = response_settings(body);
  return r;
}

}  // namespace ebb::api
