#include "cli/interactive/response_printer.h"

#include <cinttypes>
#include <cstdio>

#include "cli/interactive/text_width.h"

namespace ebb::cli {

namespace {
const char* const kGrey = "\x1b[38;5;245m";
const char* const kBold = "\x1b[1m";
const char* const kReset = "\x1b[0m";
}  // namespace

// --- WordWrapper ---

void WordWrapper::reset() {
  column_ = 0;
  word_.clear();
  word_width_ = 0;
}

std::string WordWrapper::feed(std::string_view utf8) {
  std::string out;
  const int limit = columns_ - 5;  // ollama's margin
  if (columns_ < 10) {             // too narrow to wrap
    out = utf8;
    return out;
  }
  for (char32_t c : utf8_decode(utf8)) {
    if (c == U'\n' || c == U'\r') {
      utf8_append(out, c);
      reset();
      continue;
    }
    const int w = c == U'\t' ? 8 - column_ % 8 : char_width(c);
    if (column_ + w > limit) {
      if (c == U' ' || c == U'\t') {  // the blank ends the line
        out += "\n";
        reset();
        continue;
      }
      if (word_width_ > 0 && word_column_ > 0) {
        // Move the word to the next line.
        out += "\x1b[" + std::to_string(word_width_) + "D\x1b[K\n" + utf8_encode(word_);
        column_ = word_width_;
        word_column_ = 0;
      } else {
        // Nothing to move (a blank-free run from the line's start): break here.
        out += "\n";
        column_ = 0;
        word_.clear();
        word_width_ = 0;
        word_column_ = 0;
      }
    }
    if (word_.empty()) word_column_ = column_;
    utf8_append(out, c);
    column_ += w;
    if (c == U' ' || c == U'\t' || w >= 2) {  // a blank, or a wide character: a line may break after it
      word_.clear();
      word_width_ = 0;
    } else {
      word_ += c;
      word_width_ += w;
    }
  }
  return out;
}

// --- ResponsePrinter ---

std::string ResponsePrinter::write(std::string_view text) {
  if (text.empty()) return {};
  mid_line_ = text.back() != '\n';
  if (!wrap_) return std::string(text);
  std::string out = wrapper_.feed(text);
  mid_line_ = wrapper_.column() > 0;
  return out;
}

std::string ResponsePrinter::add(std::string_view thinking, std::string_view content) {
  std::string out;
  if (!thinking.empty()) {
    if (!opened_) {
      out += color_ ? std::string(kGrey) + kBold + "Thinking...\n" + kReset + kGrey : "Thinking...\n";
      opened_ = true;
      mid_line_ = false;
    }
    thinking_ += thinking;
    out += write(thinking);
  }
  if (opened_ && !closed_ && !content.empty()) {
    if (thinking_.empty() || thinking_.back() != '\n') out += "\n";
    out += color_ ? std::string(kGrey) + kBold + "...done thinking.\n\n" + kReset : "...done thinking.\n\n";
    closed_ = true;
    mid_line_ = false;
    wrapper_.reset();
  }
  content_ += content;
  out += write(content);
  return out;
}

// --- timings ---

namespace {

// `v` units of 10^-digits as "I.FFF" with trailing zeros (and a bare point) removed.
std::string fixed(uint64_t v, int digits) {
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  std::string s = std::to_string(v / scale);
  std::string frac = std::to_string(v % scale);
  frac.insert(0, digits - frac.size(), '0');
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return frac.empty() ? s : s + "." + frac;
}

}  // namespace

std::string go_duration(std::chrono::nanoseconds d) {
  const int64_t ns = d.count();
  if (ns == 0) return "0s";
  const bool neg = ns < 0;
  const uint64_t u = neg ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  std::string s;
  if (u < 1000) {
    s = std::to_string(u) + "ns";
  } else if (u < 1000000) {
    s = fixed(u, 3) + "µs";
  } else if (u < 1000000000) {
    s = fixed(u, 6) + "ms";
  } else {
    const uint64_t secs = u / 1000000000, h = secs / 3600, m = secs / 60 % 60;
    const std::string sec = fixed(u % 60000000000ULL, 9) + "s";
    if (h > 0)
      s = std::to_string(h) + "h" + std::to_string(m) + "m" + sec;
    else if (m > 0)
      s = std::to_string(m) + "m" + sec;
    else
      s = sec;
  }
  return neg ? "-" + s : s;
}

std::string timing_summary(const nlohmann::json& j) {
  const auto num = [&](const char* key) -> int64_t {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
  };
  const auto dur = [](int64_t ns) { return go_duration(std::chrono::nanoseconds(ns)); };
  const auto rate = [](int64_t count, int64_t ns) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(count) / (static_cast<double>(ns) / 1e9));
    return std::string(buf);
  };
  std::string out;
  const int64_t total = num("total_duration"), load = num("load_duration");
  const int64_t pcount = num("prompt_eval_count"), pdur = num("prompt_eval_duration");
  const int64_t count = num("eval_count"), edur = num("eval_duration");
  if (total > 0) out += "total duration:       " + dur(total) + "\n";
  if (load > 0) out += "load duration:        " + dur(load) + "\n";
  if (pcount > 0) out += "prompt eval count:    " + std::to_string(pcount) + " token(s)\n";
  if (pdur > 0) {
    out += "prompt eval duration: " + dur(pdur) + "\n";
    out += "prompt eval rate:     " + rate(pcount, pdur) + " tokens/s\n";
  }
  if (count > 0) out += "eval count:           " + std::to_string(count) + " token(s)\n";
  if (edur > 0) {
    out += "eval duration:        " + dur(edur) + "\n";
    out += "eval rate:            " + rate(count, edur) + " tokens/s\n";
  }
  return out;
}

}  // namespace ebb::cli
