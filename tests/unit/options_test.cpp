#include <gtest/gtest.h>

#include "common/options.h"

namespace ebb {
namespace {

using json = nlohmann::json;

TEST(Options, DefaultsFollowOllama) {
  auto o = parse_options(json());
  EXPECT_FLOAT_EQ(o.sampling.temperature, 0.8f);
  EXPECT_EQ(o.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(o.sampling.top_p, 0.9f);
  EXPECT_FLOAT_EQ(o.sampling.repeat_penalty, 1.0f) << "Ollama's default (api/types.go DefaultOptions)";
  EXPECT_EQ(o.sampling.num_predict, -1);
  EXPECT_EQ(o.context.num_ctx, 0);
}

TEST(Options, ParsesAllKnownKeys) {
  auto o = parse_options({{"temperature", 0},
                          {"top_k", 5},
                          {"top_p", 0.5},
                          {"min_p", 0.1},
                          {"typical_p", 0.7},
                          {"seed", 7},
                          {"num_predict", 3},
                          {"stop", {"a", "b"}},
                          {"num_ctx", 2048},
                          {"num_batch", 64},
                          {"num_thread", 2},
                          {"repeat_last_n", 8},
                          {"presence_penalty", 0.5},
                          {"frequency_penalty", 0.25},
                          {"num_keep", 2}});
  EXPECT_EQ(o.sampling.temperature, 0.0f);
  EXPECT_EQ(o.sampling.top_k, 5);
  EXPECT_EQ(o.sampling.seed, 7);
  EXPECT_EQ(o.sampling.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.context.num_ctx, 2048);
  EXPECT_EQ(o.context.num_batch, 64);
  EXPECT_TRUE(o.unknown.empty());
}

TEST(Options, UnknownKeysAreReportedNotFatal) {
  auto o = parse_options({{"mirostat_eta", 0.1}, {"top_k", 3}});
  EXPECT_EQ(o.unknown, std::vector<std::string>{"mirostat_eta"});
  EXPECT_EQ(o.sampling.top_k, 3);
}

TEST(Options, WrongTypesAreErrors) {
  EXPECT_THROW(parse_options({{"temperature", "hot"}}), OptionsError);
  EXPECT_THROW(parse_options({{"top_k", 1.5}}), OptionsError);
  EXPECT_THROW(parse_options({{"stop", 3}}), OptionsError);
  EXPECT_THROW(parse_options({{"stop", {1, 2}}}), OptionsError);
  EXPECT_THROW(parse_options(json::array()), OptionsError);
  EXPECT_THROW(parse_options({{"num_ctx", -5}}), OptionsError);
  EXPECT_THROW(parse_options({{"grammar", 1}}), OptionsError);
}

// A number the field cannot hold is refused with its range, never wrapped into another value.
TEST(Options, NumbersThatCannotBeServedAreErrors) {
  const auto message = [](const json& options) {
    try {
      parse_options(options);
    } catch (const OptionsError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message({{"num_ctx", -1}}), "option 'num_ctx' must be between 0 and 2147483647, got -1");
  EXPECT_EQ(message({{"num_ctx", 1e12}}), "option 'num_ctx' must be between 0 and 2147483647, got 1000000000000.0");
  EXPECT_EQ(message({{"num_ctx", 1000000000000}}),
            "option 'num_ctx' must be between 0 and 2147483647, got 1000000000000");
  EXPECT_EQ(message({{"num_batch", 0}}), "option 'num_batch' must be between 1 and 2147483647, got 0");
  EXPECT_EQ(message({{"num_thread", 1000000}}), "option 'num_thread' must be between -2147483648 and 512, got 1000000");
  EXPECT_EQ(message({{"top_k", 1e300}}), "option 'top_k' is too large: 1e+300");
  EXPECT_EQ(message({{"seed", 18446744073709551615ULL}}), "option 'seed' is too large: 18446744073709551615");
  EXPECT_EQ(message({{"seed", -1e19}}), "option 'seed' is too large: -1e+19");
  EXPECT_EQ(message({{"num_predict", 2.5}}), "option 'num_predict' must be an integer, got 2.5");
}

// As Ollama: a negative num_predict is no limit, and so is one beyond what a context holds.
TEST(Options, AnyWholeNumPredictIsServed) {
  EXPECT_EQ(parse_options({{"num_predict", -2}}).sampling.num_predict, -1);
  EXPECT_EQ(parse_options({{"num_predict", -1e30}}).sampling.num_predict, -1);
  EXPECT_EQ(parse_options({{"num_predict", 1e12}}).sampling.num_predict, 2147483647);
  EXPECT_EQ(parse_options({{"num_predict", 1e30}}).sampling.num_predict, 2147483647);
  EXPECT_EQ(parse_options({{"num_predict", 7.0}}).sampling.num_predict, 7);
  EXPECT_EQ(parse_options({{"num_thread", -1}, {"num_ctx", 0}}).context.num_ctx, 0);
  EXPECT_EQ(parse_options({{"seed", -9223372036854775807LL - 1}}).sampling.seed, INT64_MIN);
}

TEST(Options, SamplingRoundTripsThroughJson) {
  auto o = parse_options({{"temperature", 0.3}, {"stop", "x"}, {"seed", 9}, {"grammar", "root ::= \"a\""}}).sampling;
  auto back = sampling_from_json(to_json(o));
  EXPECT_EQ(back.grammar, "root ::= \"a\"");
  EXPECT_FLOAT_EQ(back.temperature, 0.3f);
  EXPECT_EQ(back.stop, std::vector<std::string>{"x"});
  EXPECT_EQ(back.seed, 9);
}

}  // namespace
}  // namespace ebb
