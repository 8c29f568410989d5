#include "cli/interactive/line_editor.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/interactive/text_width.h"

namespace ebb::cli {

// --- History ---

void History::add(std::string line) {
  if (line.empty() || (!lines_.empty() && lines_.back() == line)) return;
  lines_.push_back(std::move(line));
  if (lines_.size() > limit_) lines_.erase(lines_.begin(), lines_.begin() + (lines_.size() - limit_));
}

void History::load(const std::string& path) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos) continue;
    add(line.substr(a, line.find_last_not_of(" \t\r") - a + 1));
  }
}

bool History::save(const std::string& path) const {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    for (const auto& line : lines_) out << line << '\n';
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// --- LineEditor ---

LineEditor::Event LineEditor::feed(std::string_view bytes) {
  for (char b : bytes)
    if (Event e = feed(b); e != Event::kNone) return e;
  return Event::kNone;
}

LineEditor::Event LineEditor::feed(char byte) {
  const auto b = static_cast<unsigned char>(byte);
  if (utf8_need_ > 0) {
    if ((b & 0xC0) == 0x80) {
      utf8_ = (utf8_ << 6) | (b & 0x3F);
      return --utf8_need_ == 0 ? key(utf8_) : Event::kNone;
    }
    utf8_need_ = 0;  // malformed: the partial character is dropped, this byte counts
  }
  switch (state_) {
    case State::kEsc:
      state_ = State::kNormal;
      switch (b) {
        case '[': state_ = State::kCsi, params_.clear(); break;
        case 'O': state_ = State::kSs3; break;
        case 'b':
        case 'B': word_left(); break;
        case 'f':
        case 'F': word_right(); break;
        case 0x7F:
        case 0x08: delete_word_before(); break;
        case 0x1B: state_ = State::kEsc; break;
        default: break;  // an Alt key we do not bind
      }
      return Event::kNone;
    case State::kCsi:
      if (b >= 0x20 && b <= 0x3F) {
        params_ += static_cast<char>(b);
        if (params_.size() > 16) state_ = State::kNormal;  // not a key
        return Event::kNone;
      }
      state_ = State::kNormal;
      return csi(static_cast<char>(b));
    case State::kSs3:
      state_ = State::kNormal;
      params_.clear();
      return csi(static_cast<char>(b));
    case State::kNormal: break;
  }
  if (b >= 0x80) {  // the lead byte of a UTF-8 character; a stray continuation byte is dropped
    utf8_need_ = (b >> 5) == 0x6 ? 1 : (b >> 4) == 0xE ? 2 : (b >> 3) == 0x1E ? 3 : 0;
    utf8_ = b & (0x3F >> utf8_need_);
    return Event::kNone;
  }
  return key(b);
}

LineEditor::Event LineEditor::key(char32_t c) {
  const bool after_cr = after_cr_;
  after_cr_ = false;
  switch (c) {
    case 0x01:  // Ctrl-A
      pos_ = 0;
      break;
    case 0x02:  // Ctrl-B
      if (pos_ > 0) --pos_;
      break;
    case 0x03:  // Ctrl-C
      return Event::kInterrupt;
    case 0x04:  // Ctrl-D
      if (buf_.empty()) return Event::kEof;
      if (pos_ < buf_.size()) buf_.erase(pos_, 1);
      break;
    case 0x05:  // Ctrl-E
      pos_ = buf_.size();
      break;
    case 0x06:  // Ctrl-F
      if (pos_ < buf_.size()) ++pos_;
      break;
    case 0x08:  // Ctrl-H
    case 0x7F:  // Backspace
      if (pos_ > 0) buf_.erase(--pos_, 1);
      break;
    case 0x09:  // Tab: spaces, as ollama's
      for (int i = 0; i < 8; ++i) insert(U' ');
      break;
    case 0x0A:  // Ctrl-J, or the LF of CR LF
      if (after_cr) return Event::kNone;
      [[fallthrough]];
    case 0x0D:  // Enter
      after_cr_ = c == 0x0D;
      submitted_ = text();
      if (!pasting_ && history_) history_->add(submitted_);
      return Event::kSubmit;
    case 0x0B:  // Ctrl-K
      buf_.erase(pos_);
      break;
    case 0x0C:  // Ctrl-L
      return Event::kClearScreen;
    case 0x0E:  // Ctrl-N
      history_next();
      break;
    case 0x10:  // Ctrl-P
      history_prev();
      break;
    case 0x15:  // Ctrl-U
      buf_.erase(0, pos_);
      pos_ = 0;
      break;
    case 0x17:  // Ctrl-W
      delete_word_before();
      break;
    case 0x1B: state_ = State::kEsc; break;
    default:
      if (c >= 0x20) insert(c);
      break;
  }
  return Event::kNone;
}

LineEditor::Event LineEditor::csi(char final) {
  const size_t semi = params_.find(';');
  const std::string first = params_.substr(0, semi);
  const bool by_word = semi != std::string::npos && params_.size() > semi + 1 &&
                       (params_[semi + 1] == '5' || params_[semi + 1] == '3');  // Ctrl or Alt
  switch (final) {
    case 'A': history_prev(); break;
    case 'B': history_next(); break;
    case 'C': by_word ? word_right() : (void)(pos_ < buf_.size() && ++pos_); break;
    case 'D': by_word ? word_left() : (void)(pos_ > 0 && --pos_); break;
    case 'H': pos_ = 0; break;
    case 'F': pos_ = buf_.size(); break;
    case '~':
      if (first == "1" || first == "7")
        pos_ = 0;
      else if (first == "4" || first == "8")
        pos_ = buf_.size();
      else if (first == "3" && pos_ < buf_.size())
        buf_.erase(pos_, 1);
      else if (first == "200")
        pasting_ = true;
      else if (first == "201")
        pasting_ = false;
      break;
    default: break;
  }
  return Event::kNone;
}

void LineEditor::insert(char32_t c) { buf_.insert(buf_.begin() + pos_++, c); }

void LineEditor::replace(const std::u32string& text) {
  buf_ = text;
  pos_ = buf_.size();
}

void LineEditor::word_left() {
  while (pos_ > 0 && buf_[pos_ - 1] == U' ') --pos_;
  while (pos_ > 0 && buf_[pos_ - 1] != U' ') --pos_;
}

void LineEditor::word_right() {
  while (pos_ < buf_.size() && buf_[pos_] == U' ') ++pos_;
  while (pos_ < buf_.size() && buf_[pos_] != U' ') ++pos_;
}

void LineEditor::delete_word_before() {
  const size_t end = pos_;
  word_left();
  buf_.erase(pos_, end - pos_);
}

void LineEditor::history_prev() {
  if (!history_ || history_->size() == 0) return;
  if (!browsing_) {
    saved_ = buf_;
    history_pos_ = history_->size();
    browsing_ = true;
  }
  if (history_pos_ == 0) return;
  replace(utf8_decode(history_->at(--history_pos_)));
}

void LineEditor::history_next() {
  if (!browsing_ || !history_) return;
  if (++history_pos_ >= history_->size()) {
    replace(saved_);
    browsing_ = false;
    return;
  }
  replace(utf8_decode(history_->at(history_pos_)));
}

std::string LineEditor::text() const { return utf8_encode(buf_); }

std::string LineEditor::take_line() {
  std::string line = std::move(submitted_);
  submitted_.clear();
  clear();
  return line;
}

void LineEditor::clear() {
  buf_.clear();
  pos_ = 0;
  browsing_ = false;
  saved_.clear();
}

// --- LineRenderer ---

namespace {
const char* const kGrey = "\x1b[38;5;245m";
const char* const kReset = "\x1b[0m";

std::string csi_n(int n, char op) { return "\x1b[" + std::to_string(n) + op; }
}  // namespace

std::string LineRenderer::refresh(std::string_view prompt, std::u32string_view text, size_t cursor,
                                  std::string_view placeholder, int columns) {
  const int cols = columns > 0 ? columns : 80;
  // Clear the rows drawn last, each to its end, from the last up to the first. (Not "clear to the
  // end of the screen": from a first row at the screen's top that clears the whole screen, which
  // tmux scrolls into its history.)
  std::string out;
  if (rows_ - 1 > cursor_row_) out += csi_n(rows_ - 1 - cursor_row_, 'B');
  for (int i = 1; i < rows_; ++i) out += "\r\x1b[K\x1b[1A";
  out += "\r\x1b[K";
  out += prompt;
  const int pw = text_width(prompt);
  fresh_row_ = false;
  if (text.empty()) {
    rows_ = 1;
    cursor_row_ = 0;
    if (!placeholder.empty() && pw + text_width(placeholder) < cols) {
      out += kGrey;
      out += placeholder;
      out += kReset;
      out += "\r";
      if (pw > 0) out += csi_n(pw, 'C');
    }
    return out;
  }
  out += utf8_encode(text);
  const int total = pw + text_width(text);
  const int cur = pw + text_width(text.substr(0, cursor));
  if (total % cols == 0) {
    out += "\r\n";  // out of the terminal's pending wrap: the cursor is at column 0 of the next row
    fresh_row_ = true;
  }
  const int end_row = total / cols;
  const int cur_row = cur / cols, cur_col = cur % cols;
  if (end_row > cur_row) out += csi_n(end_row - cur_row, 'A');
  out += "\r";
  if (cur_col > 0) out += csi_n(cur_col, 'C');
  rows_ = end_row + 1;
  cursor_row_ = cur_row;
  return out;
}

std::string LineRenderer::finish(std::string_view prompt, std::u32string_view text, int columns) {
  std::string out = refresh(prompt, text, text.size(), "", columns);
  if (!fresh_row_) out += "\r\n";
  reset();
  return out;
}

}  // namespace ebb::cli
