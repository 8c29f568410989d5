#include "common/units.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace std::chrono_literals;
using ebb::KeepAlive;
using nlohmann::json;

namespace {

// The message of the std::invalid_argument that `fn` throws, "" when it throws nothing.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ParseBytes, BinaryUnits) {
  EXPECT_EQ(ebb::parse_bytes("2GiB"), 2ULL << 30);
  EXPECT_EQ(ebb::parse_bytes("512MiB"), 512ULL << 20);
  EXPECT_EQ(ebb::parse_bytes("64M"), 64ULL << 20);
  EXPECT_EQ(ebb::parse_bytes("1.5G"), 3ULL << 29);
  EXPECT_EQ(ebb::parse_bytes("4k"), 4096u);
  EXPECT_EQ(ebb::parse_bytes("1TiB"), 1ULL << 40);
  EXPECT_EQ(ebb::parse_bytes("8 gib"), 8ULL << 30);
  EXPECT_EQ(ebb::parse_bytes("0.5KiB"), 512u);
}

TEST(ParseBytes, DecimalUnitsAndPlainBytes) {
  EXPECT_EQ(ebb::parse_bytes("8GB"), 8'000'000'000ULL);
  EXPECT_EQ(ebb::parse_bytes("100MB"), 100'000'000ULL);
  EXPECT_EQ(ebb::parse_bytes("1kb"), 1000u);
  EXPECT_EQ(ebb::parse_bytes("1048576"), 1048576u);
  EXPECT_EQ(ebb::parse_bytes("100B"), 100u);
  EXPECT_EQ(ebb::parse_bytes(" 7 "), 7u);
  EXPECT_EQ(ebb::parse_bytes("0"), 0u);
  EXPECT_EQ(ebb::parse_bytes("18446744073709551615"), UINT64_MAX);
}

TEST(ParseBytes, FractionsAreExact) {
  EXPECT_EQ(ebb::parse_bytes("0.1GB"), 100'000'000ULL);
  EXPECT_EQ(ebb::parse_bytes("0.3GB"), 300'000'000ULL);
  EXPECT_EQ(ebb::parse_bytes("1.25GiB"), 5ULL << 28);
}

TEST(ParseBytes, Errors) {
  EXPECT_NE(error_of([] { ebb::parse_bytes(""); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_bytes("-1G"); }).find("negative"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_bytes("lots"); }).find("not a byte size"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_bytes("5XB"); }).find("unknown size unit 'XB'"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_bytes("1.5.2G"); }).find("unknown size unit"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_bytes("20%"); }).find("unknown size unit"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_bytes("18446744073709551616"); }).find("too large"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_bytes("99999999PiB"); }).find("too large"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_bytes(std::string(200, '9')); }).find("too large"), std::string::npos);
}

TEST(FormatBytes, PicksAUnit) {
  EXPECT_EQ(ebb::format_bytes(0), "0 B");
  EXPECT_EQ(ebb::format_bytes(1023), "1023 B");
  EXPECT_EQ(ebb::format_bytes(1024), "1 KiB");
  EXPECT_EQ(ebb::format_bytes(3ULL << 29), "1.5 GiB");
  EXPECT_EQ(ebb::format_bytes(512ULL << 20), "512 MiB");
  EXPECT_EQ(ebb::format_bytes(5ULL << 28), "1.25 GiB");
  EXPECT_EQ(ebb::format_bytes((1ULL << 30) - 1), "1 GiB");  // not "1024 MiB"
  EXPECT_EQ(ebb::format_bytes(UINT64_MAX), "16 EiB");
}

TEST(Headroom, PercentAndBytes) {
  const auto pct = ebb::parse_headroom("20%");
  EXPECT_TRUE(pct.percent);
  EXPECT_DOUBLE_EQ(pct.value, 20);
  EXPECT_EQ(pct.bytes_of(10ULL << 30), 2ULL << 30);
  EXPECT_EQ(pct.to_string(), "20%");

  EXPECT_EQ(ebb::parse_headroom("12.5 %").bytes_of(800), 100u);
  EXPECT_EQ(ebb::parse_headroom("0%").bytes_of(800), 0u);
  EXPECT_EQ(ebb::parse_headroom("100%").bytes_of(800), 800u);

  const auto abs = ebb::parse_headroom("2GiB");
  EXPECT_FALSE(abs.percent);
  EXPECT_EQ(abs.bytes_of(24ULL << 30), 2ULL << 30);
  EXPECT_EQ(abs.to_string(), "2 GiB");
}

TEST(Headroom, Errors) {
  EXPECT_NE(error_of([] { ebb::parse_headroom("120%"); }).find("more than 100%"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_headroom("-5%"); }).find("not a percentage"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_headroom("%"); }).find("not a percentage"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_headroom("abc%"); }).find("not a percentage"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_headroom(""); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_headroom("big"); }).find("not a byte size"), std::string::npos);
}

TEST(ParseDuration, GoStyle) {
  EXPECT_EQ(ebb::parse_duration("5m"), 5min);
  EXPECT_EQ(ebb::parse_duration("1h30m"), 90min);
  EXPECT_EQ(ebb::parse_duration("300ms"), 300ms);
  EXPECT_EQ(ebb::parse_duration("10s"), 10s);
  EXPECT_EQ(ebb::parse_duration("1.5h"), 90min);
  EXPECT_EQ(ebb::parse_duration("0.3s"), 300ms);
  EXPECT_EQ(ebb::parse_duration(".5m"), 30s);
  EXPECT_EQ(ebb::parse_duration("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_EQ(ebb::parse_duration("2500us"), 2ms);
  EXPECT_EQ(ebb::parse_duration("1500000ns"), 1ms);
  EXPECT_EQ(ebb::parse_duration("3\xC2\xB5s"), 0ms);
  EXPECT_EQ(ebb::parse_duration("-1m"), -1min);
  EXPECT_EQ(ebb::parse_duration("+2s"), 2s);
  EXPECT_EQ(ebb::parse_duration("0"), 0ms);
}

TEST(ParseDuration, PlainNumberIsSeconds) {
  EXPECT_EQ(ebb::parse_duration("300"), 300s);
  EXPECT_EQ(ebb::parse_duration("1.5"), 1500ms);
  EXPECT_EQ(ebb::parse_duration("-1"), -1s);
}

TEST(ParseDuration, Errors) {
  EXPECT_NE(error_of([] { ebb::parse_duration(""); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_duration("5 minutes"); }).find("unknown duration unit"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_duration("5d"); }).find("unknown duration unit 'd'"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_duration("1h30"); }).find("not a duration"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_duration("h"); }).find("not a duration"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_duration("-"); }).find("not a duration"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_duration("1..5s"); }).find("not a duration"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_duration("99999999999999999h"); }).find("too large"), std::string::npos);
}

TEST(FormatDuration, CompactAndRoundTrips) {
  EXPECT_EQ(ebb::format_duration(0ms), "0s");
  EXPECT_EQ(ebb::format_duration(90min), "1h30m");
  EXPECT_EQ(ebb::format_duration(5min), "5m");
  EXPECT_EQ(ebb::format_duration(300ms), "300ms");
  EXPECT_EQ(ebb::format_duration(1500ms), "1.5s");
  EXPECT_EQ(ebb::format_duration(61001ms), "1m1.001s");
  EXPECT_EQ(ebb::format_duration(1h + 5s), "1h5s");
  EXPECT_EQ(ebb::format_duration(-1min), "-1m");
  for (int64_t ms : {0L, 1L, 999L, 1000L, 59999L, 3600000L, 3723004L, 86400000L * 400, -4500L}) {
    const std::chrono::milliseconds d(ms);
    EXPECT_EQ(ebb::parse_duration(ebb::format_duration(d)), d) << ms;
  }
}

TEST(KeepAlive, NumbersAreSeconds) {
  EXPECT_EQ(ebb::parse_keep_alive(json(300)), KeepAlive::after(300s));
  EXPECT_EQ(ebb::parse_keep_alive(json(1.5)), KeepAlive::after(1500ms));
  EXPECT_TRUE(ebb::parse_keep_alive(json(0)).is_zero());
  EXPECT_TRUE(ebb::parse_keep_alive(json(0.0)).is_zero());
  EXPECT_TRUE(ebb::parse_keep_alive(json(-1)).is_forever());
  EXPECT_TRUE(ebb::parse_keep_alive(json(-0.5)).is_forever());
  EXPECT_TRUE(ebb::parse_keep_alive(json(1e300)).is_forever());
  EXPECT_TRUE(ebb::parse_keep_alive(json(UINT64_MAX)).is_forever());
  EXPECT_TRUE(ebb::parse_keep_alive(json::parse("18446744073709551615")).is_forever());
}

TEST(KeepAlive, StringsAreDurations) {
  EXPECT_EQ(ebb::parse_keep_alive(json("5m")), KeepAlive::after(5min));
  EXPECT_EQ(ebb::parse_keep_alive(json("1h30m")), KeepAlive::after(90min));
  EXPECT_TRUE(ebb::parse_keep_alive(json("0")).is_zero());
  EXPECT_TRUE(ebb::parse_keep_alive(json("0s")).is_zero());
  EXPECT_TRUE(ebb::parse_keep_alive(json("-1m")).is_forever());
  EXPECT_TRUE(ebb::parse_keep_alive(json("-1")).is_forever());
  EXPECT_EQ(ebb::parse_keep_alive(json("300")), KeepAlive::after(300s));
  EXPECT_EQ(ebb::parse_keep_alive_text("10s"), KeepAlive::after(10s));
  EXPECT_FALSE(KeepAlive::after(1ms).is_zero());
  EXPECT_FALSE(KeepAlive::forever().is_zero());
  EXPECT_EQ(KeepAlive::forever().to_string(), "forever");
  EXPECT_EQ(KeepAlive::after(5min).to_string(), "5m");
}

TEST(KeepAlive, WrongTypesThrow) {
  EXPECT_NE(error_of([] { ebb::parse_keep_alive(json(true)); }).find("got boolean"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_keep_alive(json(nullptr)); }).find("got null"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_keep_alive(json::object()); }).find("got object"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_keep_alive(json::array()); }).find("got array"), std::string::npos);
  EXPECT_NE(error_of([] { ebb::parse_keep_alive(json("soon")); }).find("keep_alive: 'soon' is not a duration"),
            std::string::npos);
}
