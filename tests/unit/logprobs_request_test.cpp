// Asking for logprobs: Ollama's "logprobs"/"top_logprobs" on /api/generate and /api/chat, OpenAI's
// chat ("logprobs": true, "top_logprobs": 0..20) and legacy completions ("logprobs": 0..5), each
// down to the runner's "generate" message, and what is a 400.
#include <gtest/gtest.h>

#include <string>

#include "api/generate_request.h"
#include "api/openai_request.h"

namespace {

using ebb::api::parse_generate_request;
using ebb::api::parse_openai_chat;
using ebb::api::parse_openai_completion;
using json = nlohmann::json;

json generate_body(json extra) {
  json body = {{"model", "m"}, {"prompt", "hi"}};
  body.update(extra);
  return body;
}

// The 400 message of a body /api/generate refuses ("accepted" when it does not).
std::string ollama_error(json extra) {
  try {
    parse_generate_request(generate_body(std::move(extra)), false);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "accepted";
}

TEST(OllamaLogprobsRequest, ReachesTheRunner) {
  auto r = parse_generate_request(generate_body({{"logprobs", true}, {"top_logprobs", 5}}), false);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 5);
  EXPECT_EQ(r.runner_msg["logprobs"], true);
  EXPECT_EQ(r.runner_msg["top_logprobs"], 5);

  r = parse_generate_request(
      {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"logprobs", true}}, true);
  EXPECT_EQ(r.runner_msg["logprobs"], true);
  EXPECT_FALSE(r.runner_msg.contains("top_logprobs")) << "0 alternatives is the runner's default";
}

TEST(OllamaLogprobsRequest, NotAskedSendsNothing) {
  for (const json& extra :
       {json::object(), json{{"logprobs", false}}, json{{"logprobs", nullptr}}, json{{"top_logprobs", 4}}}) {
    auto r = parse_generate_request(generate_body(extra), false);
    EXPECT_FALSE(r.logprobs) << extra.dump();
    EXPECT_FALSE(r.runner_msg.contains("logprobs")) << "top_logprobs alone asks for nothing, as in Ollama";
    EXPECT_FALSE(r.runner_msg.contains("top_logprobs"));
  }
}

TEST(OllamaLogprobsRequest, BadValuesAre400) {
  EXPECT_EQ(ollama_error({{"logprobs", "yes"}}), "'logprobs' must be a boolean");
  EXPECT_EQ(ollama_error({{"logprobs", 1}}), "'logprobs' must be a boolean");
  EXPECT_EQ(ollama_error({{"logprobs", true}, {"top_logprobs", 21}}), "top_logprobs must be between 0 and 20");
  EXPECT_EQ(ollama_error({{"logprobs", true}, {"top_logprobs", -1}}), "top_logprobs must be between 0 and 20");
  EXPECT_EQ(ollama_error({{"top_logprobs", 30}}), "top_logprobs must be between 0 and 20")
      << "checked whether logprobs are asked or not, as Ollama does";
  EXPECT_EQ(ollama_error({{"logprobs", true}, {"top_logprobs", "3"}}), "top_logprobs must be between 0 and 20");
  EXPECT_EQ(ollama_error({{"logprobs", true}, {"top_logprobs", 1.5}}), "top_logprobs must be between 0 and 20");
  EXPECT_EQ(ollama_error({{"logprobs", true}, {"top_logprobs", 20}}), "accepted");
}

TEST(OpenAILogprobsRequest, Chat) {
  json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"logprobs", true}};
  auto r = parse_openai_chat(body);
  EXPECT_TRUE(r.generate.logprobs);
  EXPECT_EQ(r.generate.top_logprobs, 0);
  EXPECT_EQ(r.generate.runner_msg["logprobs"], true);
  body["top_logprobs"] = 20;
  r = parse_openai_chat(body);
  EXPECT_EQ(r.generate.runner_msg["top_logprobs"], 20);
  body["logprobs"] = false;
  body.erase("top_logprobs");
  EXPECT_FALSE(parse_openai_chat(body).generate.logprobs);
}

TEST(OpenAILogprobsRequest, LegacyCompletions) {
  json body = {{"model", "m"}, {"prompt", "Once"}, {"logprobs", 3}};
  auto r = parse_openai_completion(body);
  EXPECT_TRUE(r.generate.logprobs);
  EXPECT_EQ(r.generate.top_logprobs, 3);
  EXPECT_EQ(r.generate.runner_msg["top_logprobs"], 3);
  body["logprobs"] = 0;
  r = parse_openai_completion(body);
  EXPECT_TRUE(r.generate.logprobs) << "0: the chosen tokens' logprobs, no alternatives";
  EXPECT_FALSE(r.generate.runner_msg.contains("top_logprobs"));
  for (const json& none : {json(nullptr), json(false)}) {
    body["logprobs"] = none;
    EXPECT_FALSE(parse_openai_completion(body).generate.logprobs) << none.dump();
  }
}

}  // namespace
