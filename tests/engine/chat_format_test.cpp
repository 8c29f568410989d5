// Tool calls and reasoning through llama-common's chat formats, on synthetic models that carry
// real families' chat templates (the pinned llama.cpp's models/templates). A random model never
// writes a tool call by itself, so each family's output is written here as that family's models
// write it, and goes through the parser the rendered request gives, in small pieces as a stream
// would deliver it: the calls and the text around them must come out exactly.
#include <gtest/gtest.h>

#include <map>

#include "engine/engine.h"
#include "runner/chat_output.h"
#include "runner/chat_request.h"
#include "runner/request_error.h"
#include "test_support.h"

namespace ebb::test {
namespace {

struct Family {
  std::string name, template_file;
  std::string output;  // a weather call as the family's models write it, after some text
};

void PrintTo(const Family& f, std::ostream* os) { *os << f.name; }

const std::string kCall = R"({"name": "get_weather", "arguments": {"city": "Paris"}})";

const std::vector<Family> kFamilies = {
    {"qwen25", "Qwen-Qwen2.5-7B-Instruct.jinja", "Let me check.\n<tool_call>\n" + kCall + "\n</tool_call>"},
    {"hermes3", "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
     "Let me check.\n<tool_call>\n" + kCall + "\n</tool_call>"},
    {"qwen3", "Qwen-Qwen3-0.6B.jinja", "Let me check.\n<tool_call>\n" + kCall + "\n</tool_call>"},
    {"llama32", "meta-llama-Llama-3.2-3B-Instruct.jinja",
     R"({"name": "get_weather", "parameters": {"city": "Paris"}})"},
    {"nemo", "mistralai-Mistral-Nemo-Instruct-2407.jinja",
     R"(Let me check.[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "abc123XYZ"}])"},
};

engine::Engine& engine_for(const std::string& name, const std::string& template_file) {
  static std::map<std::string, std::unique_ptr<engine::Engine>> engines;
  auto& e = engines[name];
  if (!e) {
    static const fs::path dir = scratch_dir("ebb-engine-chat-format");
    const fs::path model = dir / (name + ".gguf");
    int rc = 0;
    std::string cmd = std::string(EBB_BIN) + " synth --out " + model.string() + " --params 20M --seed 5";
    if (!template_file.empty()) cmd += " --chat-template " + (fs::path(LLAMA_TEMPLATES_DIR) / template_file).string();
    run_capture(cmd + " >/dev/null", &rc);
    if (rc != 0) throw std::runtime_error("ebb synth failed");
    engine::LoadParams p;
    p.path = model.string();
    p.num_ctx = 2048;
    p.num_thread = 2;
    e = std::make_unique<engine::Engine>(p);
  }
  return *e;
}

const json kWeatherTool = {
    {"type", "function"},
    {"function",
     {{"name", "get_weather"},
      {"description", "The weather in a city"},
      {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}, {"required", {"city"}}}}}}};

json chat_message(json messages, json extra = json::object()) {
  json m = {{"type", "generate"}, {"mode", "chat"}, {"messages", std::move(messages)}};
  m.update(extra);
  return m;
}

// Feeds `text` to the parser `chunk` bytes at a time, as a stream would; returns every delta
// appended, and checks that no piece of markup ever went out as content.
MessageDelta stream_through(runner::ChatOutput& out, const std::string& text, size_t chunk) {
  MessageDelta all;
  for (size_t i = 0; i < text.size(); i += chunk) all.append(out.push(text.substr(i, chunk)));
  all.append(out.finish());
  return all;
}

class ChatFormat : public ::testing::TestWithParam<Family> {};

TEST_P(ChatFormat, ToolsAreRenderedAndTheCallIsParsedFromAStream) {
  const Family& f = GetParam();
  engine::Engine& e = engine_for(f.name, f.template_file);
  ASSERT_TRUE(e.chat_template().supports_tools());
  json msg = chat_message({{{"role", "user"}, {"content", "Weather in Paris?"}}},
                          {{"tools", {kWeatherTool}}, {"tool_choice", "required"}});
  auto request = runner::chat_request_of(e, msg);
  ASSERT_TRUE(request);
  engine::ChatPrompt p = e.render_chat(*request);
  EXPECT_NE(p.prompt.find("get_weather"), std::string::npos) << "the template renders the tools";
  EXPECT_FALSE(p.grammar.empty()) << "a required call is constrained by a grammar";
  ASSERT_TRUE(p.parser);

  for (size_t chunk : {1, 3, 1000}) {
    runner::ChatOutput out(p.parser, true);
    MessageDelta all = stream_through(out, f.output, chunk);
    ASSERT_EQ(all.tool_calls.size(), 1u) << f.name << " chunk " << chunk << ": " << all.content;
    EXPECT_EQ(all.tool_calls[0]["name"], "get_weather");
    EXPECT_EQ(all.tool_calls[0]["arguments"], json({{"city", "Paris"}}));
    EXPECT_EQ(all.tool_calls[0]["index"], 0);
    for (const char* markup : {"<tool_call>", "[TOOL_CALLS]", "get_weather", "{"})
      EXPECT_EQ(all.content.find(markup), std::string::npos) << f.name << ": markup in content: " << all.content;
  }
}

TEST_P(ChatFormat, ACallAndItsResultGoBackIntoTheNextPrompt) {
  const Family& f = GetParam();
  engine::Engine& e = engine_for(f.name, f.template_file);
  json call = {{"function", {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}};
  json msg = chat_message({{{"role", "user"}, {"content", "Weather in Paris?"}},
                           {{"role", "assistant"}, {"content", ""}, {"tool_calls", {call}}},
                           {{"role", "tool"}, {"content", "18 degrees and sunny"}, {"tool_name", "get_weather"}}},
                          {{"tools", {kWeatherTool}}});
  auto request = runner::chat_request_of(e, msg);
  ASSERT_TRUE(request);
  engine::ChatPrompt p = e.render_chat(*request);
  EXPECT_NE(p.prompt.find("18 degrees and sunny"), std::string::npos) << p.prompt;
  EXPECT_NE(p.prompt.find("Paris"), std::string::npos) << p.prompt;
}

INSTANTIATE_TEST_SUITE_P(Families, ChatFormat, ::testing::ValuesIn(kFamilies),
                         [](const auto& info) { return info.param.name; });

TEST(ChatFormatThinking, ReasoningIsSplitFromTheAnswer) {
  engine::Engine& e = engine_for("r1", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja");
  ASSERT_TRUE(e.chat_template().supports_thinking());
  auto request = runner::chat_request_of(e, chat_message({{{"role", "user"}, {"content", "Why?"}}}, {{"think", true}}));
  ASSERT_TRUE(request);
  engine::ChatPrompt p = e.render_chat(*request);
  for (size_t chunk : {1, 4, 1000}) {
    runner::ChatOutput out(p.parser, true);
    // The template opened the reasoning: the model writes it, closes it, then answers.
    MessageDelta all = stream_through(out, "Rayleigh scattering.\n</think>\n\nBecause of scattering.", chunk);
    EXPECT_EQ(all.thinking, "Rayleigh scattering.") << "chunk " << chunk;
    EXPECT_EQ(all.content, "Because of scattering.") << "chunk " << chunk;
  }
  runner::ChatOutput hidden(p.parser, false);  // think: false drops the reasoning
  MessageDelta all = stream_through(hidden, "Rayleigh.\n</think>\n\nBecause.", 2);
  EXPECT_EQ(all.thinking, "");
  EXPECT_EQ(all.content, "Because.");
}

TEST(ChatFormatThinking, ThinkFalseClosesTheReasoningInThePrompt) {
  engine::Engine& e = engine_for("qwen3", "Qwen-Qwen3-0.6B.jinja");
  auto on = runner::chat_request_of(e, chat_message({{{"role", "user"}, {"content", "Hi"}}}, {{"think", true}}));
  auto off = runner::chat_request_of(e, chat_message({{{"role", "user"}, {"content", "Hi"}}}, {{"think", false}}));
  ASSERT_TRUE(on && off);
  const std::string p_on = e.render_chat(*on).prompt, p_off = e.render_chat(*off).prompt;
  EXPECT_EQ(p_on.find("</think>"), std::string::npos) << p_on;
  EXPECT_NE(p_off.find("</think>"), std::string::npos) << "Qwen3 turns reasoning off with an empty block: " << p_off;
}

TEST(ChatFormatThinking, AModelWithoutTheCapabilityRefusesThinkAndTools) {
  engine::Engine& e = engine_for("chatml", "");  // ebb synth's plain ChatML template
  EXPECT_FALSE(e.chat_template().supports_thinking());
  EXPECT_THROW(runner::chat_request_of(e, chat_message({{{"role", "user"}, {"content", "Hi"}}}, {{"think", true}})),
               runner::RequestError);
  EXPECT_THROW(
      runner::chat_request_of(e, chat_message({{{"role", "user"}, {"content", "Hi"}}}, {{"tools", {kWeatherTool}}})),
      runner::RequestError);
  // Nothing asked: the plain path.
  EXPECT_FALSE(runner::chat_request_of(e, chat_message({{{"role", "user"}, {"content", "Hi"}}})));
}

}  // namespace
}  // namespace ebb::test
