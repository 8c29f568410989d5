#pragma once
// The line editor of `ebb run`'s chat, as a state machine fed with the terminal's bytes: no I/O,
// so tests drive it with key sequences. Keys as ollama's readline has them: left/right (Ctrl-B/F),
// Home/End (Ctrl-A/E), Alt-B/F and Ctrl-Left/Right by word, Backspace, Delete, Ctrl-D (deletes,
// or ends input on an empty line), Ctrl-K/U (delete to the end / the start), Ctrl-W and
// Alt-Backspace (the word before), Up/Down (Ctrl-P/N) through the history, Ctrl-L (clear the
// screen), Ctrl-C (interrupt), Enter; bracketed paste (ESC [200~ … ESC [201~) submits each pasted
// line with pasting() true, so that the caller joins them into one message.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ebb::cli {

// Submitted lines, oldest first, at most `limit` of them.
class History {
 public:
  explicit History(size_t limit = 100) : limit_(limit) {}
  void add(std::string line);  // an empty line, or the last one again, is not kept
  size_t size() const { return lines_.size(); }
  const std::string& at(size_t i) const { return lines_[i]; }
  const std::vector<std::string>& lines() const { return lines_; }

  // One line per entry (ollama keeps ~/.ollama/history the same way). Missing file: nothing.
  void load(const std::string& path);
  bool save(const std::string& path) const;  // writes a temporary file, then renames it

 private:
  size_t limit_;
  std::vector<std::string> lines_;
};

class LineEditor {
 public:
  enum class Event {
    kNone,         // keep feeding
    kSubmit,       // Enter: take_line() has the line
    kInterrupt,    // Ctrl-C: the line is dropped
    kEof,          // Ctrl-D on an empty line
    kClearScreen,  // Ctrl-L: the caller clears the screen and redraws
  };

  explicit LineEditor(History* history = nullptr) : history_(history) {}

  // One byte of terminal input (UTF-8 and escape sequences are assembled across calls).
  Event feed(char byte);
  Event feed(std::string_view bytes);  // stops at the first event other than kNone

  // The submitted line; the editor starts a new, empty one (history position at the end).
  std::string take_line();
  void clear();  // a new, empty line

  const std::u32string& buffer() const { return buf_; }
  std::string text() const;
  size_t cursor() const { return pos_; }  // in code points
  bool pasting() const { return pasting_; }
  // Whether the editor holds half an escape sequence or UTF-8 character.
  bool mid_sequence() const { return state_ != State::kNormal || utf8_need_ > 0; }

 private:
  enum class State { kNormal, kEsc, kCsi, kSs3 };

  Event key(char32_t c);
  Event csi(char final);
  void insert(char32_t c);
  void replace(const std::u32string& text);
  void word_left();
  void word_right();
  void delete_word_before();
  void history_prev();
  void history_next();

  History* history_;
  std::u32string buf_;
  size_t pos_ = 0;
  size_t history_pos_ = 0;  // == history size: the line being edited
  bool browsing_ = false;   // history_pos_ is meaningful
  std::u32string saved_;    // the line being edited, while browsing the history
  std::string submitted_;

  State state_ = State::kNormal;
  std::string params_;  // of the CSI sequence being read
  char32_t utf8_ = 0;
  int utf8_need_ = 0;
  bool pasting_ = false;
  bool after_cr_ = false;  // a '\n' right after a '\r' is the same Enter
};

// Draws a prompt and the line being edited, wrapping over rows as the terminal does, with the
// cursor where it belongs; redraws after every change from the row the line started on.
class LineRenderer {
 public:
  // Escape sequences that redraw `prompt` + `text` with the cursor before text[cursor], on a
  // terminal `columns` wide. An empty text shows `placeholder` in grey after the prompt.
  std::string refresh(std::string_view prompt, std::u32string_view text, size_t cursor, std::string_view placeholder,
                      int columns);
  // The line is done: the cursor moves below its last row, at column 0.
  std::string finish(std::string_view prompt, std::u32string_view text, int columns);
  // Forgets the rows drawn: the next refresh starts at the cursor's row.
  void reset() { rows_ = 0, cursor_row_ = 0; }

 private:
  int rows_ = 0;            // rows the last refresh drew
  int cursor_row_ = 0;      // rows from the line's first row to the cursor
  bool fresh_row_ = false;  // the cursor stands at column 0 of a row the last refresh started
};

}  // namespace ebb::cli
