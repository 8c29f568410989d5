// Tool call ids as Mistral's templates take them: 9 letters or digits.
#include "common/call_id.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

namespace {

using ebb::nine_char_call_id;

bool nine_alnum(const std::string& s) {
  if (s.size() != 9) return false;
  for (const char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

TEST(NineCharCallId, KeepsAnIdThatFits) {
  EXPECT_EQ(nine_char_call_id("abc123XYZ"), "abc123XYZ");
  EXPECT_EQ(nine_char_call_id("call00001"), "call00001") << "what ebb makes up for Ollama's calls";
}

TEST(NineCharCallId, MapsOthersToNineLettersOrDigits) {
  std::set<std::string> seen;
  for (const std::string id : {"call_8f3kD2x9QmZ1LsWv", "call_8f3kD2x9QmZ1LsWw", "abc123XY_", "abc123XYZ0", "x",
                               "toolu_01A09q90qw90lq917835lq9", "call-1", "call-2", "ünïcode9"}) {
    const std::string short_id = nine_char_call_id(id);
    EXPECT_TRUE(nine_alnum(short_id)) << id << " -> " << short_id;
    EXPECT_EQ(nine_char_call_id(id), short_id) << "the same id each time (a call and its result match)";
    EXPECT_EQ(nine_char_call_id(short_id), short_id) << "mapping again changes nothing";
    seen.insert(short_id);
  }
  EXPECT_EQ(seen.size(), 9u) << "different ids stay different";
}

}  // namespace
