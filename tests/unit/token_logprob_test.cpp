// The runner's compact wire form of per-token logprobs, and the helpers behind it.
#include "common/token_logprob.h"

#include <gtest/gtest.h>

namespace {

using ebb::Logprob;
using ebb::logprobs_from_wire;
using ebb::logprobs_to_wire;
using json = nlohmann::json;

TEST(TokenLogprobWire, CompactAndRoundTrips) {
  const std::vector<Logprob> entries = {
      {{"Hello", -0.25}, {}},
      {{" w", -1.5}, {{" w", -1.5}, {" there", -2.0}}},
      {{"\xE2\x80", -3.0}, {{"\xE2\x80", -3.0}}},  // a byte token: part of a character
  };
  const json wire = logprobs_to_wire(entries);
  EXPECT_EQ(wire.dump(),
            R"([["Hello",-0.25],[" w",-1.5,[[" w",-1.5],[" there",-2.0]]],[[226,128],-3.0,[[[226,128],-3.0]]]])");
  const auto back = logprobs_from_wire(json::parse(wire.dump()));
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].chosen.token, "Hello");
  EXPECT_EQ(back[0].chosen.logprob, -0.25);
  EXPECT_TRUE(back[0].top.empty());
  ASSERT_EQ(back[1].top.size(), 2u);
  EXPECT_EQ(back[1].top[1].token, " there");
  EXPECT_EQ(back[1].top[1].logprob, -2.0);
  EXPECT_EQ(back[2].chosen.token, "\xE2\x80") << "the exact bytes survive the JSON";
  EXPECT_EQ(back[2].top[0].token, "\xE2\x80");
}

TEST(TokenLogprobWire, MalformedEntriesAreSkipped) {
  const json wire = json::parse(R"([["a",-1], "b", [1], ["c","x"], [[300],-1], ["d",-2,[["e",-3],7]], 5])");
  const auto back = logprobs_from_wire(wire);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].chosen.token, "a");
  EXPECT_EQ(back[1].chosen.token, "d");
  ASSERT_EQ(back[1].top.size(), 1u) << "a malformed alternative is skipped too";
  EXPECT_TRUE(logprobs_from_wire(json("nope")).empty());
  EXPECT_TRUE(logprobs_from_wire(json()).empty());
}

TEST(TokenLogprobWire, ShortestDoubleKeepsFloatDigitsOnly) {
  EXPECT_EQ(json(ebb::shortest_double(-0.1f)).dump(), "-0.1");
  EXPECT_EQ(json(ebb::shortest_double(-1.2345678f)).dump(), "-1.2345678");
  EXPECT_EQ(static_cast<float>(ebb::shortest_double(-3.14159f)), -3.14159f) << "the same float back";
}

TEST(TokenLogprobWire, ValidUtf8) {
  EXPECT_TRUE(ebb::valid_utf8(""));
  EXPECT_TRUE(ebb::valid_utf8("h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(ebb::valid_utf8("\xE2\x82"));          // cut short
  EXPECT_FALSE(ebb::valid_utf8("\x80"));              // a lone continuation byte
  EXPECT_FALSE(ebb::valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(ebb::valid_utf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(ebb::valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_EQ(ebb::token_bytes("a\xFF"), json({97, 255}));
}

}  // namespace
