#include "common/capabilities.h"

#include <gtest/gtest.h>

namespace {

using ebb::Capability;
using ebb::TemplateCapabilities;

ebb::GgufValue value(ebb::GgufType type, ebb::GgufScalar scalar) {
  ebb::GgufValue v;
  v.type = type;
  v.scalar = std::move(scalar);
  return v;
}

// A header with only the keys capabilities look at.
ebb::GgufInfo header(const std::string& arch, const std::string& chat_template = "",
                     std::optional<uint64_t> pooling = std::nullopt) {
  ebb::GgufInfo info;
  info.metadata["general.architecture"] = value(ebb::GgufType::String, arch);
  if (!chat_template.empty()) info.metadata["tokenizer.chat_template"] = value(ebb::GgufType::String, chat_template);
  if (pooling) info.metadata[arch + ".pooling_type"] = value(ebb::GgufType::U32, *pooling);
  return info;
}

// Fill-in-the-middle token ids, under the current keys or the older ones.
ebb::GgufInfo with_fim(ebb::GgufInfo info, bool legacy = false, bool all_three = true) {
  const char* keys[] = {"fim_pre", "fim_suf", "fim_mid"};
  const char* old_keys[] = {"prefix", "suffix", "middle"};
  for (int i = 0; i < (all_three ? 3 : 2); ++i)
    info.metadata[std::string("tokenizer.ggml.") + (legacy ? old_keys[i] : keys[i]) + "_token_id"] =
        value(ebb::GgufType::U32, uint64_t(100 + i));
  return info;
}

std::vector<std::string> names(const std::vector<Capability>& caps) {
  std::vector<std::string> out;
  for (Capability c : caps) out.push_back(ebb::to_string(c));
  return out;
}

// Excerpts of real chat templates (tokenizer.chat_template of the named GGUFs), and made-up ones.
const char* kChatML =
    "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
const char* kQwen25 =  // Qwen2.5-Instruct
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- for tool in tools %}\n        {{- \"\\n\" }}\n"
    "        {{- tool | tojson }}\n    {%- endfor %}\n{%- endif %}\n{%- for message in messages %}\n"
    "    {%- if message.role == \"assistant\" and message.tool_calls %}<tool_call>{%- endif %}{%- endfor %}";
const char* kQwen3 =  // Qwen3: tools and thinking
    "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- endif %}{%- for message in messages %}"
    "{%- if message.reasoning_content is string %}{%- set reasoning_content = message.reasoning_content %}"
    "{%- endif %}{{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content + '\\n</think>' }}"
    "{%- endfor %}{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}";
const char* kR1Distill =  // DeepSeek-R1-Distill: strips earlier thoughts
    "{% for message in messages %}{% set content = message['content'] %}{% if '</think>' in content %}"
    "{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content}}{% endfor %}";
const char* kMistral =  // Mistral v0.3: tools through a bracket lookup
    "{%- if message['tool_calls'] is defined %}[TOOL_CALLS] [{%- endif %}";
const char* kGptOss = "{%- if message.thinking %}<|channel|>analysis<|message|>{{ message.thinking }}{%- endif %}";

TEST(Capabilities, Names) {
  for (Capability c : {Capability::Completion, Capability::Embedding, Capability::Vision, Capability::Tools,
                       Capability::Insert, Capability::Thinking})
    EXPECT_EQ(ebb::parse_capability(ebb::to_string(c)), c);
  EXPECT_STREQ(ebb::to_string(Capability::Completion), "completion");
  EXPECT_STREQ(ebb::to_string(Capability::Embedding), "embedding");
  EXPECT_EQ(ebb::parse_capability("audio"), std::nullopt);
}

TEST(Capabilities, TemplateTable) {
  struct Case {
    const char* name;
    std::string tmpl;
    TemplateCapabilities want;
  };
  const Case cases[] = {
      {"empty", "", {false, false}},
      {"chatml", kChatML, {false, false}},
      {"qwen2.5", kQwen25, {true, false}},
      {"qwen3", kQwen3, {true, true}},
      {"r1 distill", kR1Distill, {false, true}},
      {"mistral bracket key", kMistral, {true, false}},
      {"gpt-oss message.thinking", kGptOss, {false, true}},
      {"tools only in text", "You have no tools. {{ messages[0].content }}", {false, false}},
      {"tools in a comment", "{# tools are not supported #}{{ prompt }}", {false, false}},
      {"tools in an expression", "{{ tools | length }}", {true, false}},
      {"tool_call in a string", "{{ '<tool_call>' if x }}", {true, false}},
      {"tools_json is another name", "{{ tools_json }}", {false, false}},
      {"enable_thinking", "{% if enable_thinking %}x{% endif %}", {false, true}},
      {"<think> in text", "<think>\n{{ content }}", {false, true}},
      {"thinking in text only", "Think carefully. {{ content }}", {false, false}},
      {"go template tools", "{{ if .Tools }}{{ range .Tools }}{{ . }}{{ end }}{{ end }}", {true, false}},
      {"unterminated tag", "{{ tools", {true, false}},
      {"unterminated string", "{{ 'tools", {true, false}},
      {"escaped quote", "{{ 'it\\'s' }}{{ x }}", {false, false}},
  };
  for (const auto& c : cases) EXPECT_EQ(ebb::template_capabilities(c.tmpl), c.want) << c.name;
}

TEST(Capabilities, ModelTable) {
  struct Case {
    const char* name;
    ebb::GgufInfo info;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"no template", header("llama"), {"completion"}},
      {"chatml", header("llama", kChatML), {"completion"}},
      {"tools", header("qwen2", kQwen25), {"completion", "tools"}},
      {"tools and thinking", header("qwen3", kQwen3), {"completion", "tools", "thinking"}},
      {"pooling: embedding, not completion", header("llama", kChatML, 1), {"embedding"}},
      {"pooling none", header("llama", "", 0), {"completion"}},
      {"encoder-only architecture", header("bert"), {"embedding"}},
      {"nomic-bert with a template", header("nomic-bert", kQwen25), {"embedding", "tools"}},
      {"fim tokens", with_fim(header("qwen2", kChatML)), {"completion", "insert"}},
      {"older fim keys", with_fim(header("llama"), true), {"completion", "insert"}},
      {"two of three fim tokens", with_fim(header("llama"), false, false), {"completion"}},
      {"Ollama's order", with_fim(header("qwen3", kQwen3)), {"completion", "tools", "insert", "thinking"}},
  };
  for (const auto& c : cases) EXPECT_EQ(names(ebb::model_capabilities(c.info)), c.want) << c.name;
  EXPECT_TRUE(ebb::has_capability(header("qwen3", kQwen3), Capability::Thinking));
  EXPECT_FALSE(ebb::has_capability(header("qwen3", kQwen3), Capability::Insert));
  EXPECT_FALSE(ebb::has_capability(header("qwen3", kQwen3), Capability::Vision));
}

TEST(Capabilities, ErrorsUseOllamasWording) {
  struct Case {
    std::string model;
    Capability cap;
    std::string endpoint;
    std::string want;
  };
  const Case cases[] = {
      {"m", Capability::Tools, "", "m:latest does not support tools"},
      {"m:latest", Capability::Tools, "", "m:latest does not support tools"},
      {"qwen2:7b", Capability::Insert, "", "qwen2:7b does not support insert"},
      {"m", Capability::Vision, "", "m:latest does not support vision"},
      {"m", Capability::Embedding, "", "m:latest does not support embedding"},
      {"m", Capability::Thinking, "", "\"m\" does not support thinking"},
      {"m:latest", Capability::Thinking, "", "\"m:latest\" does not support thinking"},
      {"a\"b", Capability::Thinking, "", "\"a\\\"b\" does not support thinking"},
      {"emb", Capability::Completion, "generate", "\"emb\" does not support generate"},
      {"emb", Capability::Completion, "chat", "\"emb\" does not support chat"},
  };
  for (const auto& c : cases) {
    const std::string got =
        c.endpoint.empty() ? ebb::capability_error(c.model, c.cap) : ebb::capability_error(c.model, c.cap, c.endpoint);
    EXPECT_EQ(got, c.want);
  }
  EXPECT_EQ(ebb::kCapabilityErrorStatus, 400);
}

}  // namespace
