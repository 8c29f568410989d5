#pragma once
// How `ebb run` prints a streamed answer, as ollama's `run` does: words wrapped at the terminal's
// width, thinking between "Thinking..." and "...done thinking.", and the timings of --verbose.
#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ebb::cli {

// Wraps streamed text at word boundaries as it arrives. Each character is written at once; when
// one would pass the margin (5 columns before the terminal's edge, as ollama), the word being
// written moves to the next line (cursor back over it, clear to the end of the line, newline,
// the word again). A word too long for a line breaks where it reaches the margin.
class WordWrapper {
 public:
  explicit WordWrapper(int columns) : columns_(columns) {}
  std::string feed(std::string_view utf8);  // what to write to the terminal
  void reset();                             // a new line starts at column 0
  int column() const { return column_; }

 private:
  int columns_;
  int column_ = 0;
  std::u32string word_;  // the word written last, on this line
  int word_width_ = 0;
  int word_column_ = 0;  // where it starts
};

// One answer: takes the stream's thinking and content pieces, returns what to print.
class ResponsePrinter {
 public:
  // `wrap_columns` 0: no wrapping. `color`: the thinking in grey, its headers bold.
  ResponsePrinter(int wrap_columns, bool color) : wrapper_(wrap_columns), wrap_(wrap_columns > 0), color_(color) {}

  std::string add(std::string_view thinking, std::string_view content);
  // After the last piece: ends the thinking's colour if the answer ended while thinking.
  std::string end() const { return color_ && opened_ && !closed_ ? "\x1b[0m" : ""; }

  const std::string& thinking() const { return thinking_; }
  const std::string& content() const { return content_; }
  // Whether anything was printed and the last of it did not end a line.
  bool mid_line() const { return mid_line_; }

 private:
  std::string write(std::string_view text);

  WordWrapper wrapper_;
  bool wrap_, color_;
  bool opened_ = false, closed_ = false;
  bool mid_line_ = false;
  std::string thinking_, content_;
};

// Go's time.Duration.String(): "0s", "812ns", "1.5µs", "12.345678ms", "2.085917167s", "1m3.5s",
// "1h0m0s".
std::string go_duration(std::chrono::nanoseconds d);

// The timings ollama's --verbose prints after an answer (api.Metrics.Summary), from the final
// object of a stream: total duration, load duration, prompt eval count/duration/rate, eval
// count/duration/rate; fields that are 0 are left out, as ollama does.
std::string timing_summary(const nlohmann::json& final_object);

}  // namespace ebb::cli
