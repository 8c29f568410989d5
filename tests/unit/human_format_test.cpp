#include "common/human_format.h"

#include <gtest/gtest.h>

#include "common/time_format.h"

namespace {

using namespace std::chrono;

TEST(HumanFormat, NumbersAsOllamaPrintsParameterCounts) {
  const std::pair<uint64_t, const char*> cases[] = {
      {0, "0"},           {999, "999"},           {1000, "1K"},         {135500, "136K"},
      {1000000, "1M"},    {494032768, "494.03M"}, {20971520, "20.97M"}, {999999999, "1000.00M"},
      {1000000000, "1B"}, {7615616512, "7.6B"},   {8030261248, "8.0B"}, {70000000000, "70B"},
  };
  for (const auto& [n, want] : cases) EXPECT_EQ(ebb::human_number(n), want) << n;
}

TEST(HumanFormat, BytesAsOllamaPrintsSizes) {
  const std::pair<uint64_t, const char*> cases[] = {
      {0, "0 B"},
      {999, "999 B"},
      {1000, "1 KB"},
      {1500, "1.5 KB"},
      {9999, "10.0 KB"},
      {10000, "10 KB"},
      {397807936, "397 MB"},
      {1000000000, "1 GB"},
      {4661211808, "4.7 GB"},
      {12345678901234, "12 TB"},
      {2500000000000, "2.5 TB"},
  };
  for (const auto& [n, want] : cases) EXPECT_EQ(ebb::human_bytes(n), want) << n;
}

TEST(HumanFormat, Durations) {
  const std::pair<nanoseconds, const char*> cases[] = {
      {milliseconds(500), "Less than a second"},
      {seconds(1), "1 second"},
      {seconds(59), "59 seconds"},
      {seconds(60), "About a minute"},
      {seconds(119), "About a minute"},
      {minutes(59), "59 minutes"},
      {minutes(60), "About an hour"},
      {minutes(89), "About an hour"},
      {minutes(90), "2 hours"},
      {hours(47), "47 hours"},
      {hours(48), "2 days"},
      {hours(24 * 13), "13 days"},
      {hours(24 * 14), "2 weeks"},
      {hours(24 * 59), "8 weeks"},
      {hours(24 * 60), "2 months"},
      {hours(24 * 729), "24 months"},
      {hours(24 * 365 * 3), "3 years"},
  };
  for (const auto& [d, want] : cases) EXPECT_EQ(ebb::human_duration(d), want) << d.count();
}

TEST(HumanFormat, TimesAgoAndFromNow) {
  const auto now = system_clock::time_point(seconds(1'800'000'000));
  EXPECT_EQ(ebb::human_time(now - minutes(3), now, "Never"), "3 minutes ago");
  EXPECT_EQ(ebb::human_time(now + minutes(4) + seconds(30), now, "Never"), "4 minutes from now");
  EXPECT_EQ(ebb::human_time(now - hours(24 * 20), now, "Never"), "2 weeks ago");
  EXPECT_EQ(ebb::human_time(std::nullopt, now, "Never"), "Never");
  EXPECT_EQ(ebb::human_time(system_clock::time_point{}, now, "-"), "-");
  EXPECT_EQ(ebb::human_time(system_clock::time_point::max(), now, "Never"), "Forever");
  EXPECT_EQ(ebb::human_time(now + hours(24 * 365 * 21), now, "Never"), "Forever");
}

TEST(HumanFormat, Rfc3339RoundTripsAndReadsOffsets) {
  const auto t = system_clock::time_point(milliseconds(1'764'180'422'825));
  EXPECT_EQ(ebb::parse_rfc3339(ebb::format_rfc3339(t)), t);
  EXPECT_EQ(ebb::parse_rfc3339("1970-01-01T00:00:00Z"), system_clock::time_point{});
  EXPECT_EQ(ebb::parse_rfc3339("1970-01-01T01:00:00.5+01:00"), system_clock::time_point(milliseconds(500)));
  EXPECT_EQ(ebb::parse_rfc3339("2024-05-01T10:00:00.123456789-07:00"),
            ebb::parse_rfc3339("2024-05-01T17:00:00.123456789Z"));
  // Ollama's "never" lies beyond the clock's range: the latest time it can hold.
  EXPECT_EQ(ebb::parse_rfc3339("2318-08-21T00:00:00.000Z"), system_clock::time_point::max());
  for (const char* bad : {"", "-", "2024-05-01", "2024-05-01T10:00:00", "2024-13-01T10:00:00Z",
                          "2024-05-01T10:00:00Zjunk", "2024-05-01T10:00:00+0100"})
    EXPECT_EQ(ebb::parse_rfc3339(bad), std::nullopt) << bad;
}

TEST(HumanFormat, GoNumbers) {
  const std::pair<double, const char*> cases[] = {
      {4096, "4096"},     {0, "0"},           {0.5, "0.5"},    {1e-05, "1e-05"},
      {0.0001, "0.0001"}, {999999, "999999"}, {1e6, "1e+06"},  {8030261248, "8.030261248e+09"},
      {151936, "151936"}, {-2.5, "-2.5"},     {1e21, "1e+21"},
  };
  for (const auto& [v, want] : cases) EXPECT_EQ(ebb::go_number(v), want) << v;
}

TEST(HumanFormat, Tables) {
  EXPECT_EQ(ebb::render_table({{"NAME", "ID", "SIZE"}, {"tiny:latest", "0123456789ab", "25 MB"}, {"x", "-", "1 B"}}),
            "NAME           ID              SIZE\n"
            "tiny:latest    0123456789ab    25 MB\n"
            "x              -               1 B\n");
  // An empty first column indents by the padding, as ollama show's sections do.
  EXPECT_EQ(ebb::render_table({{"", "architecture", "llama"}, {"", "parameters", "20.97M"}}),
            "    architecture    llama\n"
            "    parameters      20.97M\n");
  EXPECT_EQ(ebb::render_table({{"", "completion"}}), "    completion\n");
  // Widths count code points, not bytes.
  EXPECT_EQ(ebb::render_table({{"é", "x"}, {"ab", "y"}}, " "), "é  x\nab y\n");
  EXPECT_EQ(ebb::render_table({}), "");
}

}  // namespace
