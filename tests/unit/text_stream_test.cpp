#include <gtest/gtest.h>

#include "common/text_stream.h"

namespace ebb {
namespace {

TEST(TextStream, PassesTextThrough) {
  TextStream t;
  EXPECT_EQ(t.push("hello "), "hello ");
  EXPECT_EQ(t.push("world"), "world");
  EXPECT_EQ(t.flush(), "");
}

TEST(TextStream, HoldsIncompleteUtf8) {
  TextStream t;
  std::string e_acute = "\xC3\xA9";
  EXPECT_EQ(t.push("a\xC3"), "a");
  EXPECT_EQ(t.push("\xA9!"), e_acute + "!");
  std::string emoji = "\xF0\x9F\x98\x80";
  EXPECT_EQ(t.push(emoji.substr(0, 2)), "");
  EXPECT_EQ(t.push(emoji.substr(2)), emoji);
}

TEST(TextStream, CutsAtStopStringAcrossPieces) {
  TextStream t({"</end>"});
  EXPECT_EQ(t.push("abc</"), "abc");
  EXPECT_FALSE(t.stopped());
  EXPECT_EQ(t.push("en"), "");
  EXPECT_EQ(t.push("d>tail"), "");
  EXPECT_TRUE(t.stopped());
  EXPECT_EQ(t.flush(), "");
}

TEST(TextStream, ReleasesFalseStopPrefix) {
  TextStream t({"STOP"});
  EXPECT_EQ(t.push("xST"), "x");
  EXPECT_EQ(t.push("Ay"), "STAy");
  EXPECT_EQ(t.push("ST"), "");
  EXPECT_EQ(t.flush(), "ST");
}

TEST(TextStream, EarliestOfSeveralStops) {
  TextStream t({"bb", "a"});
  EXPECT_EQ(t.push("xxbbya"), "xx");
  EXPECT_TRUE(t.stopped());
}

}  // namespace
}  // namespace ebb
