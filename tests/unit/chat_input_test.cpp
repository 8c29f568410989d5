// `ebb run`'s chat input: the `"""` multi-line assembler, /set, and the printing of answers.
#include <gtest/gtest.h>

#include "cli/interactive/chat_settings.h"
#include "cli/interactive/input_assembler.h"
#include "cli/interactive/response_printer.h"

namespace ebb::cli {
namespace {

using json = nlohmann::json;
using Kind = InputAssembler::Step::Kind;

TEST(InputAssembler, LinesAndCommands) {
  InputAssembler in;
  auto s = in.feed("hello");
  EXPECT_EQ(s.kind, Kind::kMessage);
  EXPECT_EQ(s.text, "hello");
  EXPECT_EQ(in.feed("").kind, Kind::kNone);
  s = in.feed("/set verbose");
  EXPECT_EQ(s.kind, Kind::kCommand);
  EXPECT_EQ(s.text, "/set verbose");
  EXPECT_FALSE(in.continuing());
}

TEST(InputAssembler, TripleQuotes) {
  InputAssembler in;
  EXPECT_EQ(in.feed(R"(""")").kind, Kind::kMore);
  EXPECT_TRUE(in.continuing());
  EXPECT_EQ(in.feed("line one").kind, Kind::kMore);
  EXPECT_EQ(in.feed("").kind, Kind::kMore);
  EXPECT_EQ(in.feed("/not a command").kind, Kind::kMore);
  auto s = in.feed(R"(""")");
  EXPECT_EQ(s.kind, Kind::kMessage);
  EXPECT_EQ(s.text, "line one\n\n/not a command");
  EXPECT_FALSE(in.continuing());

  // Text on the opening and closing lines; both on one line.
  EXPECT_EQ(in.feed(R"("""first)").kind, Kind::kMore);
  s = in.feed(R"(last""")");
  EXPECT_EQ(s.text, "first\nlast");
  s = in.feed(R"("""one line""")");
  EXPECT_EQ(s.kind, Kind::kMessage);
  EXPECT_EQ(s.text, "one line");
  EXPECT_EQ(in.feed(R"("""""")").kind, Kind::kNone);

  // reset() (Ctrl-C) drops a message in progress.
  in.feed(R"("""draft)");
  in.reset();
  EXPECT_FALSE(in.continuing());
  EXPECT_EQ(in.feed("next").text, "next");
}

TEST(InputAssembler, PastedLinesJoinTheNextLine) {
  InputAssembler in;
  EXPECT_EQ(in.feed("pasted one", true).kind, Kind::kMore);
  EXPECT_TRUE(in.continuing());
  EXPECT_EQ(in.feed("/pasted two", true).kind, Kind::kMore);
  auto s = in.feed("typed");
  EXPECT_EQ(s.kind, Kind::kMessage);
  EXPECT_EQ(s.text, "pasted one\n/pasted two\ntyped");
}

TEST(InputAssembler, SystemMessage) {
  InputAssembler in;
  auto s = in.begin_system("You are terse.");
  EXPECT_EQ(s.kind, Kind::kSystem);
  EXPECT_EQ(s.text, "You are terse.");
  s = in.begin_system(R"("""Be brief.""")");
  EXPECT_EQ(s.kind, Kind::kSystem);
  EXPECT_EQ(s.text, "Be brief.");
  EXPECT_EQ(in.begin_system(R"("""You are)").kind, Kind::kMore);
  EXPECT_TRUE(in.continuing());
  s = in.feed(R"(a pirate.""")");
  EXPECT_EQ(s.kind, Kind::kSystem);
  EXPECT_EQ(s.text, "You are\na pirate.");
}

std::vector<std::string> words(const std::string& line) { return split_words(line); }

TEST(ChatSettings, SetParameter) {
  ChatSettings s;
  auto r = apply_set(s, words("/set parameter num_predict 3"));
  EXPECT_EQ(r.out, "Set parameter 'num_predict' to '3'\n");
  EXPECT_EQ(s.options["num_predict"], 3);
  EXPECT_TRUE(s.options["num_predict"].is_number_integer());
  apply_set(s, words("/set parameter temperature 0.7"));
  EXPECT_DOUBLE_EQ(s.options["temperature"].get<double>(), 0.7);
  r = apply_set(s, words("/set parameter stop <|end|> ###"));
  EXPECT_EQ(r.out, "Set parameter 'stop' to '<|end|>, ###'\n");
  EXPECT_EQ(s.options["stop"], json({"<|end|>", "###"}));
  apply_set(s, words("/set parameter use_mmap false"));
  EXPECT_EQ(s.options["use_mmap"], false);
  for (const char* p : {"num_ctx 4096", "seed -1", "top_k 40", "top_p 0.9", "min_p 0.05", "repeat_penalty 1.1",
                        "repeat_last_n 64", "num_keep 4", "num_batch 64", "num_thread 2", "num_gpu 0", "typical_p 1",
                        "presence_penalty 0.5", "frequency_penalty 0.5"})
    EXPECT_EQ(apply_set(s, words(std::string("/set parameter ") + p)).out.rfind("Set parameter '", 0), 0u) << p;

  r = apply_set(s, words("/set parameter num_predict lots"));
  EXPECT_EQ(r.out, "Couldn't set parameter: \"invalid int value [lots]\"\n");
  EXPECT_EQ(s.options["num_predict"], 3);
  EXPECT_EQ(apply_set(s, words("/set parameter temperature hot")).out,
            "Couldn't set parameter: \"invalid float value [hot]\"\n");
  EXPECT_EQ(apply_set(s, words("/set parameter use_mmap maybe")).out,
            "Couldn't set parameter: \"invalid bool value [maybe]\"\n");
  EXPECT_EQ(apply_set(s, words("/set parameter colour blue")).out,
            "Couldn't set parameter: \"unknown parameter 'colour'\"\n");
  EXPECT_EQ(apply_set(s, words("/set parameter num_ctx 1.5")).out,
            "Couldn't set parameter: \"invalid int value [1.5]\"\n");
  r = apply_set(s, words("/set parameter num_ctx"));
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("Available Parameters:"), std::string::npos);

  EXPECT_EQ(parameter_text(s.options["stop"]), "[<|end|> ###]");
  EXPECT_EQ(parameter_text(s.options["temperature"]), "0.7");
  EXPECT_EQ(parameter_text(s.options["num_predict"]), "3");
  EXPECT_EQ(parameter_text(s.options["use_mmap"]), "false");
}

TEST(ChatSettings, Modes) {
  ChatSettings s;
  EXPECT_EQ(apply_set(s, words("/set verbose")).out, "Set 'verbose' mode.\n");
  EXPECT_TRUE(s.verbose);
  EXPECT_EQ(apply_set(s, words("/set quiet")).out, "Set 'quiet' mode.\n");
  EXPECT_FALSE(s.verbose);
  EXPECT_EQ(apply_set(s, words("/set nowordwrap")).out, "Set 'nowordwrap' mode.\n");
  EXPECT_FALSE(s.word_wrap);
  EXPECT_EQ(apply_set(s, words("/set wordwrap")).out, "Set 'wordwrap' mode.\n");
  EXPECT_TRUE(s.word_wrap);

  auto r = apply_set(s, words("/set think"));
  EXPECT_EQ(r.out, "Set 'think' mode.\n");
  EXPECT_TRUE(r.think_changed);
  EXPECT_EQ(s.think, true);
  EXPECT_EQ(apply_set(s, words("/set think high")).out, "Set 'think' mode to 'high'.\n");
  EXPECT_EQ(s.think, "high");
  EXPECT_EQ(apply_set(s, words("/set nothink")).out, "Set 'nothink' mode.\n");
  EXPECT_EQ(s.think, false);

  EXPECT_EQ(apply_set(s, words("/set format json")).out, "Set format to 'json' mode.\n");
  EXPECT_EQ(s.format, "json");
  EXPECT_EQ(apply_set(s, words("/set format yaml")).out,
            "Invalid or missing format. For 'json' mode use '/set format json'\n");
  EXPECT_EQ(apply_set(s, words("/set noformat")).out, "Disabled format.\n");
  EXPECT_TRUE(s.format.is_null());

  r = apply_set(s, words("/set nohistory"));
  EXPECT_TRUE(r.history_changed);
  EXPECT_FALSE(s.history);

  r = apply_set(s, words("/set system You   are terse."));
  EXPECT_TRUE(r.system);
  EXPECT_EQ(r.system_text, "You are terse.");
  EXPECT_NE(apply_set(s, words("/set system")).err.find("/set system <string>"), std::string::npos);
  EXPECT_NE(apply_set(s, words("/set")).err.find("Available Commands:"), std::string::npos);
  EXPECT_EQ(apply_set(s, words("/set colour")).out, "Unknown command '/set colour'. Type /? for help\n");
}

TEST(WordWrapper, WrapsAtWords) {
  // 20 columns: lines hold 15 (ollama's margin of 5).
  WordWrapper w(20);
  EXPECT_EQ(w.feed("the quick brown"), "the quick brown");
  EXPECT_EQ(w.column(), 15);
  // A blank at the margin ends the line.
  EXPECT_EQ(w.feed(" fox"), "\nfox");
  // "jumping" does not fit after "fox over ": it moves to the next line.
  EXPECT_EQ(w.feed(" over jumping"), " over jumpin\x1b[6D\x1b[K\njumping");
  EXPECT_EQ(w.column(), 7);
  EXPECT_EQ(w.feed("\nnew line"), "\nnew line");
  EXPECT_EQ(w.column(), 8);
  // Words arriving in pieces, as tokens do.
  WordWrapper t(20);
  std::string out;
  for (const char* piece : {"aaaa", " bbbb", " cc", "cc", " dd", "dd"}) out += t.feed(piece);
  EXPECT_EQ(out, "aaaa bbbb cccc \ndddd");
  // A word longer than a line breaks at the margin.
  WordWrapper l(20);
  EXPECT_EQ(l.feed("abcdefghijklmnopqrstuvwxyz"), "abcdefghijklmno\npqrstuvwxyz");
  // Too narrow: as is.
  WordWrapper n(8);
  EXPECT_EQ(n.feed("the quick brown fox"), "the quick brown fox");
}

TEST(ResponsePrinter, ThinkingThenContent) {
  ResponsePrinter p(0, false);
  std::string out = p.add("Let me", "");
  out += p.add(" see.", "");
  out += p.add("", "Blue.");
  out += p.add("", " Sky.");
  EXPECT_EQ(out, "Thinking...\nLet me see.\n...done thinking.\n\nBlue. Sky.");
  EXPECT_EQ(p.thinking(), "Let me see.");
  EXPECT_EQ(p.content(), "Blue. Sky.");
  EXPECT_TRUE(p.mid_line());
  EXPECT_EQ(p.end(), "");

  ResponsePrinter c(0, true);
  out = c.add("hmm\n", "");
  EXPECT_EQ(c.end(), "\x1b[0m");  // still thinking: the grey is ended
  out += c.add("", "ok\n");
  EXPECT_EQ(out,
            "\x1b[38;5;245m\x1b[1mThinking...\n\x1b[0m\x1b[38;5;245mhmm\n\x1b[38;5;245m\x1b[1m...done "
            "thinking.\n\n\x1b[0mok\n");
  EXPECT_FALSE(c.mid_line());
  EXPECT_EQ(c.end(), "");
}

TEST(Timings, GoDurations) {
  using std::chrono::nanoseconds;
  EXPECT_EQ(go_duration(nanoseconds(0)), "0s");
  EXPECT_EQ(go_duration(nanoseconds(812)), "812ns");
  EXPECT_EQ(go_duration(nanoseconds(1500)), "1.5µs");
  EXPECT_EQ(go_duration(nanoseconds(12345678)), "12.345678ms");
  EXPECT_EQ(go_duration(nanoseconds(20000000)), "20ms");
  EXPECT_EQ(go_duration(nanoseconds(2085917167)), "2.085917167s");
  EXPECT_EQ(go_duration(nanoseconds(63500000000)), "1m3.5s");
  EXPECT_EQ(go_duration(nanoseconds(3600000000000)), "1h0m0s");
  EXPECT_EQ(go_duration(nanoseconds(-1500000000)), "-1.5s");
}

TEST(Timings, Summary) {
  const json final = {{"done", true},
                      {"total_duration", 2085917167},
                      {"load_duration", 20000000},
                      {"prompt_eval_count", 26},
                      {"prompt_eval_duration", 130000000},
                      {"eval_count", 3},
                      {"eval_duration", 1500000}};
  EXPECT_EQ(timing_summary(final),
            "total duration:       2.085917167s\n"
            "load duration:        20ms\n"
            "prompt eval count:    26 token(s)\n"
            "prompt eval duration: 130ms\n"
            "prompt eval rate:     200.00 tokens/s\n"
            "eval count:           3 token(s)\n"
            "eval duration:        1.5ms\n"
            "eval rate:            2000.00 tokens/s\n");
  // Zero fields are left out, as ollama does.
  EXPECT_EQ(timing_summary({{"total_duration", 1000}, {"eval_count", 0}}), "total duration:       1µs\n");
}

}  // namespace
}  // namespace ebb::cli
