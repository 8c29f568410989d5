// Modelfiles parse as Ollama's parser does (cases from its parser_test.go), and print back to
// text that parses to the same commands.
#include <gtest/gtest.h>

#include "store/modelfile.h"

namespace ebb::store {
namespace {

using Commands = std::vector<ModelfileCommand>;

Commands parse(const std::string& text) { return Modelfile::parse(text).commands; }

std::string error_of(const std::string& text) {
  try {
    Modelfile::parse(text);
  } catch (const ModelfileError& e) {
    return e.what();
  }
  return "(parsed)";
}

const std::string kTemplate =
    "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}";

TEST(Modelfile, ReadsEachCommand) {
  const std::string text =
      "\nFROM model1\nADAPTER adapter1\nLICENSE MIT\nPARAMETER param1 value1\n"
      "PARAMETER param2 value2\nTEMPLATE \"\"\"" +
      kTemplate + "\"\"\"    \n";
  EXPECT_EQ(parse(text), (Commands{{"model", "model1"},
                                   {"adapter", "adapter1"},
                                   {"license", "MIT"},
                                   {"param1", "value1"},
                                   {"param2", "value2"},
                                   {"template", kTemplate}}));
}

TEST(Modelfile, SpacesAndQuotes) {
  EXPECT_EQ(
      parse("FROM \"     model 1\"\nADAPTER      adapter3\nLICENSE \"MIT       \"\nPARAMETER param1        value1\n"
            "TEMPLATE \"\"\"   x\n\ny   \"\"\"    \n"),
      (Commands{{"model", "     model 1"},
                {"adapter", "adapter3"},
                {"license", "MIT       "},
                {"param1", "value1"},
                {"template", "   x\n\ny   "}}));
  const std::vector<std::pair<std::string, Commands>> from = {
      {"FROM \"FOO  BAR  \"", {{"model", "FOO  BAR  "}}},
      {"FROM \"FOO BAR\"\nPARAMETER param1 value1", {{"model", "FOO BAR"}, {"param1", "value1"}}},
      {"FROM     FOOO BAR    ", {{"model", "FOOO BAR"}}},
      {"FROM /what/is/the path ", {{"model", "/what/is/the path"}}},
      {"FROM llama3:7b-instruct-q4_K_M", {{"model", "llama3:7b-instruct-q4_K_M"}}},
      {"PARAMETER param1 value1\nFROM foo", {{"param1", "value1"}, {"model", "foo"}}},
      {"PARAMETER what the \nFROM lemons make lemonade ", {{"what", "the"}, {"model", "lemons make lemonade"}}},
      {"from foo\r\nparameter stop \"<|im_end|>\"\r\n", {{"model", "foo"}, {"stop", "<|im_end|>"}}},
      {"\xEF\xBB\xBF"
       "FROM foo",
       {{"model", "foo"}}},
      {"FROM foo\nSYSTEM 日本語 ✓", {{"model", "foo"}, {"system", "日本語 ✓"}}},
  };
  for (const auto& [text, want] : from) EXPECT_EQ(parse(text), want) << text;
}

TEST(Modelfile, MultiLineValues) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"FROM foo\nSYSTEM \"\"\"\nThis is a\nmultiline system.\n\"\"\"\n", "\nThis is a\nmultiline system.\n"},
      {"FROM foo\nSYSTEM \"\"\"\nThis is a\nmultiline system.\"\"\"\n", "\nThis is a\nmultiline system."},
      {"FROM foo\nSYSTEM \"\"\"This is a\nmultiline system.\"\"\"", "This is a\nmultiline system."},
      {"FROM foo\nSYSTEM \"This is a\nquoted system.\"", "This is a\nquoted system."},
      {"FROM foo\nSYSTEM \"\"\"Say \"hi\" \"\"\"", "Say \"hi\" "},
      {"FROM foo\nSYSTEM \"\"\"\"\"\"", ""},
      {"FROM foo\nSYSTEM \"\"", ""},
      {"FROM foo\nSYSTEM a\tb", "a\tb"},
  };
  for (const auto& [text, system] : cases) EXPECT_EQ(parse(text).back(), (ModelfileCommand{"system", system})) << text;
}

TEST(Modelfile, Messages) {
  EXPECT_EQ(
      parse("FROM foo\nMESSAGE system You are a parser.\nMESSAGE user Hi\nMESSAGE assistant \"\"\"Hello\nthere\"\"\""),
      (Commands{{"model", "foo"},
                {"message", "system: You are a parser."},
                {"message", "user: Hi"},
                {"message", "assistant: Hello\nthere"}}));
  EXPECT_EQ(error_of("FROM foo\nMESSAGE badrole hi"),
            "(line 2): message role must be one of \"system\", \"user\", or \"assistant\"");
}

TEST(Modelfile, CommentsAreSkipped) {
  EXPECT_EQ(parse("# a comment\nFROM foo # not a comment: part of the value\n  # indented comment\nSYSTEM x"),
            (Commands{{"model", "foo # not a comment: part of the value"}, {"system", "x"}}));
}

TEST(Modelfile, ErrorsNameTheLine) {
  EXPECT_EQ(error_of(""), "no FROM line");
  EXPECT_EQ(error_of("PARAMETER param1 value1"), "no FROM line");
  EXPECT_NE(error_of("\nFROM foo\nBADCOMMAND param1 value1\n").find("(line 3): command must be one of"),
            std::string::npos);
  EXPECT_NE(error_of("FROM foo\nSYS-TEM x").find("(line 2): command must be one of"), std::string::npos);
  EXPECT_NE(error_of("\nFROM foo\nPARAMETER param1\n").find("unexpected EOF"), std::string::npos);
  EXPECT_NE(error_of("FROM foo\nPARAMETER param-1 x").find("unexpected EOF"), std::string::npos);
  EXPECT_NE(error_of("FROM foo\nSYSTEM \"\"\"never closed\n").find("unexpected EOF"), std::string::npos);
  EXPECT_NE(error_of("FROM foo\nSYSTEM \"never closed").find("unexpected EOF"), std::string::npos);
  EXPECT_EQ(error_of("\xFF\xFE"
                     "F\0R"),
            "the Modelfile is UTF-16; save it as UTF-8");
}

TEST(Modelfile, PrintsBackToTheSameCommands) {
  const Commands commands = {{"model", "llama3.2"},      {"template", kTemplate},      {"system", " edge spaces "},
                             {"system", "say \"hi\"\n"}, {"stop", "<|eot_id|>"},       {"temperature", "0.7"},
                             {"license", "MIT"},         {"message", "user: Hi\nyou"}, {"message", "assistant: Hello"}};
  const std::string text = Modelfile{commands}.str();
  EXPECT_EQ(parse(text), commands) << text;
  EXPECT_NE(text.find("PARAMETER stop <|eot_id|>\n"), std::string::npos) << text;
  EXPECT_NE(text.find("SYSTEM \" edge spaces \"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("MESSAGE assistant Hello\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace ebb::store
