// Ollama's response lines, byte for byte: clients parse them, and the wire must not change when
// the request path behind them does. Keys come out sorted (nlohmann::json objects are maps).
#include "api/ollama_shape.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace {

using ebb::api::OllamaShape;
using json = nlohmann::json;

// The line with its created_at (the current time) replaced by "T".
std::string without_time(const std::string& line) {
  static const std::regex created(R"("created_at":"[0-9T:.+\-Z]+")");
  return std::regex_replace(line, created, R"("created_at":"T")");
}

const json kDone = {{"type", "done"},         {"done_reason", "length"},
                    {"prompt_eval_count", 3}, {"prompt_eval_duration", 40},
                    {"eval_count", 5},        {"eval_duration", 600}};

TEST(OllamaShape, GenerateLines) {
  OllamaShape shape("tiny", false);
  EXPECT_EQ(shape.content_type(), "application/x-ndjson");
  EXPECT_EQ(without_time(shape.chunk(ebb::MessageDelta::text("h\xC3\xA9"))),
            "{\"created_at\":\"T\",\"done\":false,\"model\":\"tiny\",\"response\":\"h\xC3\xA9\"}\n");
  EXPECT_EQ(without_time(shape.final(kDone, {7, 2})),
            "{\"created_at\":\"T\",\"done\":true,\"done_reason\":\"length\",\"eval_count\":5,\"eval_duration\":600,"
            "\"load_duration\":2,\"model\":\"tiny\",\"prompt_eval_count\":3,\"prompt_eval_duration\":40,"
            "\"response\":\"\",\"total_duration\":7}\n");
  EXPECT_EQ(shape.error("boom"), "{\"error\":\"boom\"}\n");
}

TEST(OllamaShape, ChatLines) {
  OllamaShape shape("tiny", true);
  EXPECT_EQ(without_time(shape.chunk(ebb::MessageDelta::text("hi"))),
            "{\"created_at\":\"T\",\"done\":false,\"message\":{\"content\":\"hi\",\"role\":\"assistant\"},"
            "\"model\":\"tiny\"}\n");
  json whole = shape.whole(ebb::MessageDelta::text("hi there"), {{"type", "done"}}, {9, 0});
  EXPECT_EQ(whole["message"]["content"], "hi there");
  EXPECT_EQ(whole["done_reason"], "stop") << "the default when the runner names none";
  EXPECT_EQ(whole["total_duration"], 9);
  EXPECT_EQ(whole["eval_count"], 0);
}

TEST(OllamaShape, InvalidUtf8IsReplacedNotThrown) {
  OllamaShape shape("tiny", false);
  EXPECT_EQ(without_time(shape.chunk(ebb::MessageDelta::text("\xFF"))),
            "{\"created_at\":\"T\",\"done\":false,\"model\":\"tiny\",\"response\":\"\xEF\xBF\xBD\"}\n");
}

}  // namespace
