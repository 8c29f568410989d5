// The one-pass renderer of plain conversations gives llama-common's whole-path prompt, byte for
// byte, for every template llama.cpp ships; templates it cannot match are left to the whole path.
// Includes llama-common (its own JSON): no ebb nlohmann-json in this file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/plain_chat_render.h"

namespace ebb::engine {
namespace {

namespace fs = std::filesystem;

// Other conversations than the probes the renderer checks itself with.
const std::vector<std::vector<ChatMessage>> kConversations = {
    {{"user", "Wie spät ist es? 日本語 ✓"}},
    {{"system", "You answer in JSON.\nAlways."}, {"user", "  spaced  "}},
    {{"user", "first"}, {"assistant", "reply one"}, {"user", "second"}, {"assistant", "reply two"}, {"user", "third"}},
    {{"system", "only a system turn"}},
    {{"developer", "Use tabs\t."}, {"user", "x"}, {"assistant", "y"}, {"user", "z"}},
    {{"user", "a {{ b }} {% c %} <|im_end|>"}},
};

std::string read(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(PlainChatRender, MatchesTheWholePathForEveryShippedTemplate) {
  std::vector<std::string> matched, whole_path;
  for (const auto& entry : fs::directory_iterator(LLAMA_TEMPLATES_DIR)) {
    if (entry.path().extension() != ".jinja") continue;
    const std::string name = entry.path().filename().string();
    common_chat_templates_ptr full;
    try {
      full = common_chat_templates_init(nullptr, read(entry.path()), "<s>", "</s>");
    } catch (const std::exception&) {
      continue;  // llama-common cannot parse it either
    }
    for (bool add_bos : {false, true}) {
      const TemplateTokens tokens{"<s>", "</s>", add_bos, false};
      // The whole path of a template made from an override keeps its tokens; only add_bos is the
      // vocabulary's, so compare against one made with it.
      auto plain = PlainChatRender::verified(full.get(), tokens);
      if (!plain) {
        if (!add_bos) whole_path.push_back(name);
        continue;
      }
      if (!add_bos) matched.push_back(name);
      for (const auto& conversation : kConversations)
        for (bool gen : {true, false}) {
          std::string want;
          try {
            want = full_chat_render(full.get(), conversation, gen);
          } catch (const std::exception&) {
            EXPECT_ANY_THROW(plain->render(conversation, gen)) << name;
            continue;
          }
          EXPECT_EQ(plain->render(conversation, gen), want) << name << " add_bos " << add_bos << " gen " << gen;
        }
    }
  }
  std::string left;
  for (const auto& n : whole_path) left += " " + n;
  std::printf("one pass: %zu templates; whole path:%s\n", matched.size(), left.c_str());
  // The common families must take the fast path (ChatML, Llama 3, Mistral, Gemma, Phi).
  for (const char* name :
       {"Qwen-Qwen2.5-7B-Instruct.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja", "google-gemma-2-2b-it.jinja",
        "mistralai-Mistral-Nemo-Instruct-2407.jinja", "microsoft-Phi-3.5-mini-instruct.jinja"})
    EXPECT_NE(std::find(matched.begin(), matched.end(), name), matched.end()) << name;
}

}  // namespace
}  // namespace ebb::engine
