#include "common/capabilities.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace ebb {
namespace {

constexpr std::pair<Capability, const char*> kNames[] = {
    {Capability::Completion, "completion"}, {Capability::Embedding, "embedding"}, {Capability::Vision, "vision"},
    {Capability::Tools, "tools"},           {Capability::Insert, "insert"},       {Capability::Thinking, "thinking"},
};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// One name found inside a tag: an identifier, or a string literal's text (`literal`), which counts
// when it names a key (message['tool_calls']) or holds a tool-call marker ('<tool_call>').
void note(std::string_view word, bool literal, TemplateCapabilities& caps) {
  if (word == "tools" || word == "Tools" || starts_with(word, "tool_call") || word == "ToolCalls" ||
      (literal && word.find("tool_call") != std::string_view::npos))
    caps.tools = true;
  if (word == "enable_thinking" || word == "thinking" || word == "reasoning_content" || word == "Thinking")
    caps.thinking = true;
}

// Scans one tag's inside, [begin, end of tag), noting identifiers and string literals. Returns the
// position just after the closing delimiter (or the end of the text).
size_t scan_tag(std::string_view t, size_t i, std::string_view close, TemplateCapabilities& caps) {
  while (i < t.size()) {
    if (t.compare(i, close.size(), close) == 0) return i + close.size();
    const char c = t[i];
    if (c == '\'' || c == '"') {
      const size_t start = ++i;
      while (i < t.size() && t[i] != c) i += t[i] == '\\' ? 2 : 1;
      note(t.substr(start, std::min(i, t.size()) - start), true, caps);
      ++i;
    } else if (is_ident_start(c)) {
      const size_t start = i;
      while (i < t.size() && is_ident_char(t[i])) ++i;
      note(t.substr(start, i - start), false, caps);
    } else {
      ++i;
    }
  }
  return t.size();
}

// Go's %q for the names Ollama quotes: printable text as is, quotes, backslashes and control
// characters escaped.
std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F)
          out += fmt::format("\\x{:02x}", c);
        else
          out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

const char* to_string(Capability cap) {
  for (const auto& [c, name] : kNames)
    if (c == cap) return name;
  return "unknown";
}

std::optional<Capability> parse_capability(std::string_view name) {
  for (const auto& [c, n] : kNames)
    if (name == n) return c;
  return std::nullopt;
}

TemplateCapabilities template_capabilities(std::string_view t) {
  TemplateCapabilities caps;
  if (t.find("<think>") != std::string_view::npos || t.find("</think>") != std::string_view::npos) caps.thinking = true;
  size_t i = 0;
  while (i + 1 < t.size()) {
    if (t[i] != '{') {
      ++i;
      continue;
    }
    const char next = t[i + 1];
    if (next == '{') {
      i = scan_tag(t, i + 2, "}}", caps);
    } else if (next == '%') {
      i = scan_tag(t, i + 2, "%}", caps);
    } else if (next == '#') {
      const size_t end = t.find("#}", i + 2);
      i = end == std::string_view::npos ? t.size() : end + 2;
    } else {
      ++i;
    }
  }
  return caps;
}

std::vector<Capability> model_capabilities(const GgufInfo& info) {
  std::vector<Capability> caps;
  caps.push_back(info.is_embedding_model() ? Capability::Embedding : Capability::Completion);
  TemplateCapabilities t;
  if (const auto tmpl = info.get_string("tokenizer.chat_template")) t = template_capabilities(*tmpl);
  if (t.tools) caps.push_back(Capability::Tools);  // Ollama's order: tools, insert, thinking
  if (has_fim_tokens(info)) caps.push_back(Capability::Insert);
  if (t.thinking) caps.push_back(Capability::Thinking);
  return caps;
}

bool has_fim_tokens(const GgufInfo& info) {
  const auto has = [&](const char* key, const char* legacy) {
    return info.get_uint(key).has_value() || info.get_uint(legacy).has_value();
  };
  return has("tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id") &&
         has("tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id") &&
         has("tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id");
}

bool has_capability(const GgufInfo& info, Capability cap) {
  const auto caps = model_capabilities(info);
  return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

std::string capability_error(std::string_view model, Capability cap, std::string_view endpoint) {
  switch (cap) {
    case Capability::Thinking: return go_quote(model) + " does not support thinking";
    case Capability::Completion: return fmt::format("{} does not support {}", go_quote(model), endpoint);
    default: {
      const std::string tagged =
          model.find(':') == std::string_view::npos ? std::string(model) + ":latest" : std::string(model);
      return fmt::format("{} does not support {}", tagged, to_string(cap));
    }
  }
}

}  // namespace ebb
