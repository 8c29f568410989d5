#include "api/openai_request.h"

#include <bit>
#include <cstring>
#include <stdexcept>

#include "common/token_logprob.h"

namespace ebb::api {

using json = nlohmann::json;

namespace {

constexpr int kMaxCompletionLogprobs = 5;  // OpenAI's limit for the legacy completions
constexpr const char* kNoVision = "images are not supported: ebb has no vision support yet";

void need(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

bool given(const json& body, const char* key) { return body.contains(key) && !body[key].is_null(); }

// A number field within [lo, hi], when given.
void copy_number(const json& body, const char* key, double lo, double hi, json& options, const char* option) {
  if (!given(body, key)) return;
  const json& v = body[key];
  need(v.is_number() && v.get<double>() >= lo && v.get<double>() <= hi,
       std::string("'") + key + "' must be a number from " + json(lo).dump() + " to " + json(hi).dump());
  options[option] = v;
}

// The sampling fields chat and completions share, as Ollama options.
json sampling_options(const json& body) {
  json o = json::object();
  // OpenAI's defaults, not Ollama's (0.8 and 0.9), when the request names none.
  o["temperature"] = 1.0;
  o["top_p"] = 1.0;
  copy_number(body, "temperature", 0, 2, o, "temperature");
  copy_number(body, "top_p", 0, 1, o, "top_p");
  copy_number(body, "frequency_penalty", -2, 2, o, "frequency_penalty");
  copy_number(body, "presence_penalty", -2, 2, o, "presence_penalty");
  if (given(body, "seed")) {
    need(body["seed"].is_number_integer(), "'seed' must be an integer");
    o["seed"] = body["seed"];
  }
  if (given(body, "stop")) {
    const json& stop = body["stop"];
    bool ok = stop.is_string() || stop.is_array();
    if (stop.is_array())
      for (const auto& s : stop) ok = ok && s.is_string();
    need(ok, "'stop' must be a string or an array of strings");
    o["stop"] = stop;
  }
  // llama-server's extension: a GBNF grammar, the only constraint on the output (options.grammar).
  if (given(body, "grammar")) {
    need(body["grammar"].is_string(), "'grammar' must be a string (GBNF)");
    o["grammar"] = body["grammar"];
  }
  // max_completion_tokens replaces max_tokens, which OpenAI keeps for older clients.
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (!given(body, key)) continue;
    need(body[key].is_number_integer() && body[key].get<int64_t>() >= 1 &&
             body[key].get<int64_t>() <= std::numeric_limits<int32_t>::max(),
         std::string("'") + key + "' must be a positive integer");
    o["num_predict"] = body[key];
  }
  return o;
}

// The fields both generating routes take the same way.
void common_fields(const json& body, json& out) {
  if (body.contains("model")) out["model"] = body["model"];
  if (given(body, "stream")) {
    need(body["stream"].is_boolean(), "'stream' must be a boolean");
    out["stream"] = body["stream"];
  } else {
    out["stream"] = false;  // OpenAI's default, not Ollama's
  }
  if (given(body, "stream_options")) need(body["stream_options"].is_object(), "'stream_options' must be an object");
  if (given(body, "n")) need(body["n"] == 1, "'n' must be 1: ebb generates one choice per request");
  if (given(body, "keep_alive")) out["keep_alive"] = body["keep_alive"];  // ebb's extension (ollama#2508)
  out["options"] = sampling_options(body);
}

bool include_usage(const json& body) {
  if (!given(body, "stream_options")) return false;
  const json& so = body["stream_options"];
  if (!given(so, "include_usage")) return false;
  need(so["include_usage"].is_boolean(), "'stream_options.include_usage' must be a boolean");
  return so["include_usage"].get<bool>();
}

// A message's "content": a string, null, or content parts (text parts joined by newlines, as
// llama.cpp's server joins them).
std::string content_text(const json& content) {
  if (content.is_null()) return "";
  if (content.is_string()) return content.get<std::string>();
  need(content.is_array(), "'content' must be a string or an array of content parts");
  std::string text;
  bool first = true;
  for (const auto& part : content) {
    need(part.is_object() && part.value("type", json()).is_string(), "each content part needs a string 'type'");
    const std::string type = part["type"];
    if (type == "image_url" || type == "input_image" || type == "image") throw std::invalid_argument(kNoVision);
    const char* field = type == "text" ? "text" : type == "refusal" ? "refusal" : nullptr;
    need(field != nullptr, "content parts of type '" + type + "' are not supported");
    need(part.value(field, json()).is_string(), "a '" + type + "' part needs a string '" + field + "'");
    if (!first) text += '\n';
    text += part[field].get<std::string>();
    first = false;
  }
  return text;
}

// An assistant's tool calls, OpenAI's ({"id", "type": "function", "function": {"name", "arguments":
// JSON text}}) as Ollama's ({"id", "function": {"name", "arguments": object}}).
json tool_calls_from_openai(const json& calls) {
  need(calls.is_array(), "'tool_calls' must be an array");
  json out = json::array();
  for (const auto& c : calls) {
    need(c.is_object() && c.value("type", json("function")) == "function" && c.value("function", json()).is_object() &&
             c["function"].value("name", json()).is_string(),
         "each tool call needs \"type\": \"function\" and a 'function' with a string 'name'");
    const std::string name = c["function"]["name"];
    const json args = c["function"].value("arguments", json());
    json parsed = json::object();
    if (args.is_string()) {
      if (!args.get<std::string>().empty()) parsed = json::parse(args.get<std::string>(), nullptr, false);
    } else if (!args.is_null()) {
      parsed = args;  // an object already, as Ollama's clients send it
    }
    need(parsed.is_object(), "tool call '" + name + "': 'arguments' must be a JSON object (as a string)");
    json call = {{"function", {{"name", name}, {"arguments", std::move(parsed)}}}};
    if (c.value("id", json()).is_string()) call["id"] = c["id"];
    out.push_back(std::move(call));
  }
  return out;
}

// The name of the function that the call `id` in earlier messages called ("" when none did).
std::string called_function(const json& messages, const std::string& id) {
  for (auto m = messages.rbegin(); m != messages.rend(); ++m)
    for (const auto& c : m->value("tool_calls", json::array()))
      if (c.value("id", "") == id) return c["function"].value("name", "");
  return "";
}

json messages_from_openai(const json& body) {
  need(body.value("messages", json()).is_array() && !body["messages"].empty(), "'messages' must be a non-empty array");
  json out = json::array();
  for (const auto& x : body["messages"]) {
    need(x.is_object() && x.value("role", json()).is_string(), "each message needs a string 'role'");
    std::string role = x["role"];
    need(role == "system" || role == "developer" || role == "user" || role == "assistant" || role == "tool",
         "unsupported message role '" + role + "' (system, developer, user, assistant, tool)");
    if (role == "developer") role = "system";  // OpenAI's newer name; chat templates know "system"
    json m = {{"role", role}, {"content", content_text(x.value("content", json()))}};
    if (role == "assistant") {
      if (given(x, "tool_calls")) m["tool_calls"] = tool_calls_from_openai(x["tool_calls"]);
      for (const char* key : {"reasoning_content", "reasoning"})
        if (x.value(key, json()).is_string() && !x[key].get<std::string>().empty()) {
          m["thinking"] = x[key];
          break;
        }
    }
    if (role == "tool") {
      need(!given(x, "tool_call_id") || x["tool_call_id"].is_string(), "'tool_call_id' must be a string");
      const std::string id = x.value("tool_call_id", json("")).get<std::string>();
      if (!id.empty()) m["tool_call_id"] = id;
      std::string name = x.value("name", json("")).is_string() ? x.value("name", "") : "";
      if (name.empty() && !id.empty()) name = called_function(out, id);
      if (!name.empty()) m["tool_name"] = name;
    }
    out.push_back(std::move(m));
  }
  return out;
}

// "text", {"type": "json_object"} ("json"), {"type": "json_schema", "json_schema": {"schema"}}.
json format_from_openai(const json& rf) {
  need(rf.is_object() && rf.value("type", json()).is_string(),
       "'response_format' must be an object with a string 'type'");
  const std::string type = rf["type"];
  if (type == "text") return nullptr;
  if (type == "json_object") return "json";
  need(type == "json_schema", "'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"");
  const json js = rf.value("json_schema", json());
  need(js.is_object() && js.value("schema", json()).is_object(),
       "'response_format.json_schema.schema' must be a JSON schema object");
  return js["schema"];
}

// reasoning_effort as Ollama's think: false, or a level the chat template knows.
json think_from_openai(const json& effort) {
  need(effort.is_string(), "'reasoning_effort' must be a string");
  const std::string e = effort;
  if (e == "none") return false;
  if (e == "minimal" || e == "low") return "low";
  if (e == "medium") return "medium";
  if (e == "high" || e == "xhigh") return "high";
  throw std::invalid_argument("'reasoning_effort' must be \"none\", \"minimal\", \"low\", \"medium\" or \"high\"");
}

// Chat's "logprobs" (a boolean) and "top_logprobs" (0..20, only with "logprobs": true, as OpenAI
// has it) as /api/chat's.
void chat_logprobs(const json& body, json& out) {
  if (given(body, "logprobs")) need(body["logprobs"].is_boolean(), "'logprobs' must be a boolean");
  const bool asked = given(body, "logprobs") && body["logprobs"] == true;
  if (given(body, "top_logprobs")) {
    need(asked, "'top_logprobs' requires 'logprobs': true");
    const json& k = body["top_logprobs"];
    need(k.is_number_integer() && k.get<int64_t>() >= 0 && k.get<int64_t>() <= kMaxTopLogprobs,
         "'top_logprobs' must be an integer from 0 to " + std::to_string(kMaxTopLogprobs));
    out["top_logprobs"] = k;
  }
  if (asked) out["logprobs"] = true;
}

// The legacy completions' "logprobs": how many most likely tokens to list (0..5); null or false
// asks for none.
void completion_logprobs(const json& body, json& out) {
  if (!given(body, "logprobs") || body["logprobs"] == false) return;
  const json& k = body["logprobs"];
  need(k.is_number_integer() && k.get<int64_t>() >= 0 && k.get<int64_t>() <= kMaxCompletionLogprobs,
       "'logprobs' must be an integer from 0 to " + std::to_string(kMaxCompletionLogprobs));
  out["logprobs"] = true;
  out["top_logprobs"] = k;
}

std::string base64(const unsigned char* data, size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b = (uint32_t{data[i]} << 16) | (i + 1 < n ? uint32_t{data[i + 1]} << 8 : 0) |
                       (i + 2 < n ? uint32_t{data[i + 2]} : 0);
    out += kAlphabet[(b >> 18) & 63];
    out += kAlphabet[(b >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(b >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[b & 63] : '=';
  }
  return out;
}

bool is_token_array(const json& x) {
  if (!x.is_array()) return false;
  for (const auto& t : x)
    if (!t.is_number_integer()) return false;
  return true;
}

}  // namespace

json chat_body_from_openai(const json& body) {
  json out = json::object();
  common_fields(body, out);
  chat_logprobs(body, out);
  out["messages"] = messages_from_openai(body);
  if (given(body, "response_format"))
    if (json format = format_from_openai(body["response_format"]); !format.is_null()) out["format"] = format;
  if (given(body, "tools")) out["tools"] = body["tools"];
  if (given(body, "tool_choice")) out["tool_choice"] = body["tool_choice"];
  if (given(body, "reasoning_effort")) {
    out["think"] = think_from_openai(body["reasoning_effort"]);
  } else if (given(body, "reasoning")) {
    need(body["reasoning"].is_object(), "'reasoning' must be an object");
    if (given(body["reasoning"], "effort")) out["think"] = think_from_openai(body["reasoning"]["effort"]);
  }
  return out;
}

json generate_body_from_openai(const json& body) {
  json out = json::object();
  common_fields(body, out);
  if (!given(body, "max_tokens")) out["options"]["num_predict"] = 16;  // OpenAI's default for completions
  completion_logprobs(body, out);
  need(!given(body, "echo") || body["echo"] == false, "echo is not supported");
  need(!given(body, "best_of") || body["best_of"] == 1, "'best_of' must be 1: ebb generates one choice per request");
  need(given(body, "prompt"), "'prompt' is required");
  const json& p = body["prompt"];
  if (p.is_array()) {
    need(!p.empty() && !p[0].is_number() && !p[0].is_array(),
         p.empty() ? "'prompt' must not be an empty array" : "token prompts are not supported");
    need(p.size() == 1 && p[0].is_string(),
         "'prompt' must be a string or an array of one string: ebb generates one choice per request");
    out["prompt"] = p[0];
  } else {
    need(p.is_string(), "'prompt' must be a string or an array of one string");
    out["prompt"] = p;
  }
  // Raw, as OpenAI's completions are, unless there is a suffix: then the model's insert format
  // (fill in the middle) lays prompt and suffix out, as Ollama's /v1/completions does.
  if (given(body, "suffix")) {
    need(body["suffix"].is_string(), "'suffix' must be a string");
    if (!body["suffix"].get<std::string>().empty()) out["suffix"] = body["suffix"];
  }
  out["raw"] = !out.contains("suffix");
  return out;
}

OpenAIGenerateRequest parse_openai_chat(const json& body) {
  OpenAIGenerateRequest r;
  r.include_usage = include_usage(body);
  r.generate = parse_generate_request(chat_body_from_openai(body), true);
  return r;
}

OpenAIGenerateRequest parse_openai_completion(const json& body) {
  OpenAIGenerateRequest r;
  r.include_usage = include_usage(body);
  r.generate = parse_generate_request(generate_body_from_openai(body), false);
  r.generate.empty = false;
  return r;
}

OpenAIEmbedRequest embed_from_openai(const json& body) {
  OpenAIEmbedRequest r;
  json& out = r.embed_body = json::object();
  if (body.contains("model")) out["model"] = body["model"];
  need(given(body, "input"), "'input' is required");
  const json& in = body["input"];
  constexpr const char* kInput =
      "'input' must be a string, an array of strings, an array of token ids or an array of token id arrays";
  json inputs = json::array();
  if (in.is_string()) {
    inputs.push_back(in);
  } else if (is_token_array(in) && !in.empty()) {
    inputs.push_back(in);
  } else {
    need(in.is_array(), kInput);
    for (const auto& x : in) {
      need(x.is_string() || is_token_array(x), kInput);
      inputs.push_back(x);
    }
  }
  need(!inputs.empty(), "'input' must not be empty");
  for (const auto& x : inputs)  // (json's empty() is false for every string)
    need(x.is_string() ? !x.get<std::string>().empty() : !x.empty(),
         "'input' must not contain an empty string or array");
  out["input"] = std::move(inputs);
  if (given(body, "dimensions")) out["dimensions"] = body["dimensions"];
  if (given(body, "keep_alive")) out["keep_alive"] = body["keep_alive"];
  if (given(body, "encoding_format")) {
    const json& f = body["encoding_format"];
    need(f == "float" || f == "base64", "'encoding_format' must be \"float\" or \"base64\"");
    r.base64 = f == "base64";
  }
  return r;
}

std::string embedding_base64(const std::vector<float>& v) {
  std::string bytes(v.size() * sizeof(float), '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t bits = std::bit_cast<uint32_t>(v[i]);
    if constexpr (std::endian::native == std::endian::big) bits = __builtin_bswap32(bits);
    std::memcpy(bytes.data() + i * sizeof bits, &bits, sizeof bits);
  }
  return base64(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

}  // namespace ebb::api
