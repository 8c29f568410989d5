// `ebb run`'s line editor fed with the bytes a terminal sends for keys, and its renderer.
#include "cli/interactive/line_editor.h"

#include <gtest/gtest.h>

#include "cli/interactive/text_width.h"

namespace ebb::cli {
namespace {

using Event = LineEditor::Event;

const std::string kLeft = "\x1b[D", kRight = "\x1b[C", kUp = "\x1b[A", kDown = "\x1b[B";
const std::string kHome = "\x1b[H", kEnd = "\x1b[F", kDel = "\x1b[3~";

// Feeds `keys` and returns the submitted line ("" and a failure if nothing was submitted).
std::string submit(LineEditor& e, const std::string& keys) {
  EXPECT_EQ(e.feed(keys + "\r"), Event::kSubmit) << keys;
  return e.take_line();
}

TEST(LineEditor, TypingAndMovingTheCursor) {
  LineEditor e;
  EXPECT_EQ(submit(e, "hello"), "hello");
  EXPECT_EQ(submit(e, "wrld" + kLeft + kLeft + kLeft + "o"), "world");
  EXPECT_EQ(submit(e, "bc" + kHome + "a" + kEnd + "d"), "abcd");
  EXPECT_EQ(submit(e,
                   "bc\x01"
                   "a\x05"
                   "d"),
            "abcd");  // Ctrl-A, Ctrl-E
  EXPECT_EQ(submit(e,
                   "ac\x02"
                   "b\x06"
                   "d"),
            "abcd");                                              // Ctrl-B, Ctrl-F
  EXPECT_EQ(submit(e, "xy" + kRight + kRight + "z"), "xyz");      // right at the end stays
  EXPECT_EQ(submit(e, "b" + kLeft + kLeft + kLeft + "a"), "ab");  // left at the start stays
  EXPECT_EQ(submit(e,
                   "bc\x1bOH"
                   "a\x1bOF"
                   "d"),
            "abcd");  // SS3 Home/End
  EXPECT_EQ(submit(e,
                   "bc\x1b[1~"
                   "a\x1b[4~"
                   "d"),
            "abcd");  // VT Home/End
  EXPECT_EQ(submit(e,
                   "bc\x1b[7~"
                   "a\x1b[8~"
                   "d"),
            "abcd");  // rxvt Home/End
}

TEST(LineEditor, Deleting) {
  LineEditor e;
  EXPECT_EQ(submit(e, "abcd\x7f"), "abc");     // Backspace (DEL)
  EXPECT_EQ(submit(e, "abcd\x08\x08"), "ab");  // Ctrl-H
  EXPECT_EQ(submit(e,
                   "\x7f\x7f"
                   "a"),
            "a");                                                // at the start: nothing
  EXPECT_EQ(submit(e, "abcd" + kLeft + kLeft + kDel), "abd");    // Delete
  EXPECT_EQ(submit(e, "abcd" + kLeft + kLeft + "\x04"), "abd");  // Ctrl-D on a non-empty line
  EXPECT_EQ(submit(e, "abcd" + kLeft + kLeft + "\x0b"), "ab");   // Ctrl-K
  EXPECT_EQ(submit(e, "abcd" + kLeft + kLeft + "\x15"), "cd");   // Ctrl-U
  EXPECT_EQ(submit(e, "one two  three\x17"), "one two  ");       // Ctrl-W
  EXPECT_EQ(submit(e, "one two  three\x17\x17"), "one ");
  EXPECT_EQ(submit(e, "one two\x1b\x7f"), "one ");  // Alt-Backspace
}

TEST(LineEditor, MovingByWords) {
  LineEditor e;
  EXPECT_EQ(submit(e,
                   "one two three\x1b"
                   "b\x1b"
                   "bX"),
            "one Xtwo three");  // Alt-B
  EXPECT_EQ(submit(e,
                   "one two\x01\x1b"
                   "fX"),
            "oneX two");                                      // Alt-F
  EXPECT_EQ(submit(e, "one two\x1b[1;5DX"), "one Xtwo");      // Ctrl-Left
  EXPECT_EQ(submit(e, "one two\x01\x1b[1;5CX"), "oneX two");  // Ctrl-Right
}

TEST(LineEditor, Utf8) {
  LineEditor e;
  EXPECT_EQ(submit(e, "h\xc3\xa9llo" + kLeft + kLeft + kLeft + "\x7f"), "hllo");
  EXPECT_EQ(submit(e, "\xe6\x97\xa5\xe6\x9c\xac" + kLeft + "x"), "\xe6\x97\xa5x\xe6\x9c\xac");
  // A character split across reads.
  EXPECT_EQ(e.feed("\xe6\x97"), Event::kNone);
  EXPECT_TRUE(e.mid_sequence());
  EXPECT_EQ(e.feed("\xa5\r"), Event::kSubmit);
  EXPECT_EQ(e.take_line(), "\xe6\x97\xa5");
}

TEST(LineEditor, EnterCtrlCCtrlDAndCtrlL) {
  LineEditor e;
  EXPECT_EQ(e.feed("abc\x03"), Event::kInterrupt);
  EXPECT_EQ(e.text(), "abc");  // the caller shows it, then clears it
  e.clear();
  EXPECT_EQ(e.feed("\x04"), Event::kEof);  // Ctrl-D on an empty line
  EXPECT_EQ(e.feed("\x0c"), Event::kClearScreen);
  // CR LF is one Enter; LF alone is an Enter too.
  EXPECT_EQ(e.feed("a\r"), Event::kSubmit);
  EXPECT_EQ(e.take_line(), "a");
  EXPECT_EQ(e.feed("\nb\n"), Event::kSubmit);
  EXPECT_EQ(e.take_line(), "b");
  EXPECT_EQ(submit(e, ""), "");
  // An escape sequence split across reads.
  EXPECT_EQ(e.feed("ab\x1b"), Event::kNone);
  EXPECT_TRUE(e.mid_sequence());
  EXPECT_EQ(e.feed("[DX\r"), Event::kSubmit);
  EXPECT_EQ(e.take_line(), "aXb");
  // An unknown sequence is ignored whole.
  EXPECT_EQ(submit(e, "a\x1b[15~\x1b[1;2Pb"), "ab");
}

TEST(LineEditor, History) {
  // `keys` typed with "first" and "second" in the history.
  const auto recall = [](const std::string& keys) {
    History h;
    h.add("first");
    h.add("second");
    LineEditor e(&h);
    return submit(e, keys);
  };
  EXPECT_EQ(recall(kUp), "second");
  EXPECT_EQ(recall(kUp + kUp), "first");
  EXPECT_EQ(recall(kUp + kUp + kUp + kUp + kUp), "first");          // stays at the oldest
  EXPECT_EQ(recall("draft" + kUp + kUp + kDown + kDown), "draft");  // past the newest: the line being typed
  EXPECT_EQ(recall("x\x10\x10\x0e"), "second");                     // Ctrl-P, Ctrl-N
  EXPECT_EQ(recall(kUp + "!"), "second!");                          // a recalled line can be edited

  History h;
  LineEditor e(&h);
  submit(e, "one");
  submit(e, "");     // empty lines are not kept
  submit(e, "one");  // nor the last line again
  submit(e, "two");
  submit(e, kUp + kUp);
  EXPECT_EQ(h.lines(), (std::vector<std::string>{"one", "two", "one"}));

  History limited(2);
  for (const char* s : {"a", "b", "c"}) limited.add(s);
  EXPECT_EQ(limited.lines(), (std::vector<std::string>{"b", "c"}));
}

TEST(LineEditor, HistoryFile) {
  const std::string path = ::testing::TempDir() + "ebb-history-test/history";
  History h;
  h.add("one");
  h.add("two words");
  ASSERT_TRUE(h.save(path));
  History back;
  back.load(path);
  EXPECT_EQ(back.lines(), h.lines());
  History none;
  none.load(path + ".missing");
  EXPECT_EQ(none.size(), 0u);
}

TEST(LineEditor, BracketedPaste) {
  History h;
  LineEditor e(&h);
  EXPECT_EQ(e.feed("\x1b[200~line one\r"), Event::kSubmit);
  EXPECT_TRUE(e.pasting());
  EXPECT_EQ(e.take_line(), "line one");
  EXPECT_EQ(e.feed("line two\x1b[201~"), Event::kNone);
  EXPECT_FALSE(e.pasting());
  EXPECT_EQ(submit(e, " typed"), "line two typed");
  EXPECT_EQ(h.lines(), (std::vector<std::string>{"line two typed"}));  // pasted lines are not kept
  EXPECT_EQ(submit(e, "a\tb"), "a        b");                          // a tab becomes spaces, as ollama's
}

TEST(LineRenderer, OneRow) {
  LineRenderer r;
  const std::u32string text = U"hello";
  EXPECT_EQ(r.refresh(">>> ", text, 5, "", 80), "\r\x1b[K>>> hello\r\x1b[9C");
  EXPECT_EQ(r.refresh(">>> ", text, 2, "", 80), "\r\x1b[K>>> hello\r\x1b[6C");
  EXPECT_EQ(r.finish(">>> ", text, 80), "\r\x1b[K>>> hello\r\x1b[9C\r\n");
  EXPECT_EQ(r.refresh(">>> ", U"", 0, "Send a message", 80),
            "\r\x1b[K>>> \x1b[38;5;245mSend a message\x1b[0m\r\x1b[4C");
  EXPECT_EQ(r.refresh(">>> ", U"", 0, "Send a message", 15), "\r\x1b[K>>> ");  // no room for it
}

TEST(LineRenderer, WrappedRows) {
  LineRenderer r;
  // 4 + 12 = 16 columns on a 10-column terminal: two rows. Each refresh clears the rows drawn
  // before, from the last up, and leaves the cursor before text[cursor].
  const std::u32string text = U"abcdefghijkl";
  EXPECT_EQ(r.refresh(">>> ", text, 8, "", 10), "\r\x1b[K>>> abcdefghijkl\r\x1b[2C");  // row 1, col 2
  EXPECT_EQ(r.refresh(">>> ", text, 2, "", 10),
            "\r\x1b[K\x1b[1A\r\x1b[K>>> abcdefghijkl\x1b[1A\r\x1b[6C");  // row 0, col 6
  EXPECT_EQ(r.refresh(">>> ", text, 12, "", 10),
            "\x1b[1B\r\x1b[K\x1b[1A\r\x1b[K>>> abcdefghijkl\r\x1b[6C");  // from row 0: down first
  // Exactly two rows: the cursor goes to the start of a third.
  const std::u32string full = U"abcdefghijklmnop";
  EXPECT_EQ(r.refresh(">>> ", full, 16, "", 10), "\r\x1b[K\x1b[1A\r\x1b[K>>> abcdefghijklmnop\r\n\r");
  EXPECT_EQ(r.finish(">>> ", full, 10), "\r\x1b[K\x1b[1A\r\x1b[K\x1b[1A\r\x1b[K>>> abcdefghijklmnop\r\n\r");
  // Wide characters count two columns.
  EXPECT_EQ(r.refresh(">>> ", U"\u65e5\u672c", 1, "", 80), "\r\x1b[K>>> \xe6\x97\xa5\xe6\x9c\xac\r\x1b[6C");
}

TEST(TextWidth, Columns) {
  EXPECT_EQ(text_width(std::string_view("abc")), 3);
  EXPECT_EQ(text_width(std::string_view("\xe6\x97\xa5\xe6\x9c\xac")), 4);  // CJK
  EXPECT_EQ(text_width(std::string_view("e\xcc\x81")), 1);                 // e + combining acute
  EXPECT_EQ(text_width(std::string_view("\xf0\x9f\x98\x80")), 2);          // emoji
  EXPECT_EQ(utf8_encode(utf8_decode("h\xc3\xa9\xf0\x9f\x98\x80")), "h\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(utf8_decode("a\xff"
                        "b"),
            U"a\uFFFDb");
}

}  // namespace
}  // namespace ebb::cli
