// The Go text/template subset used by Ollama TEMPLATEs: fields, if/else, range, trim markers,
// and clear rejections of everything else.
#include <gtest/gtest.h>

#include "common/go_template.h"

namespace ebb {
namespace {

TemplateData chat_data() {
  TemplateData d;
  d.system = "Be brief.";
  d.prompt = "Hi";
  d.messages = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}};
  return d;
}

std::string error_of(const std::string& tmpl) {
  try {
    validate_go_template(tmpl);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "";
}

TEST(GoTemplate, PlainTextAndFields) {
  TemplateData d;
  d.system = "S";
  d.prompt = "P";
  d.response = "R";
  EXPECT_EQ(render_go_template("", d), "");
  EXPECT_EQ(render_go_template("no actions", d), "no actions");
  EXPECT_EQ(render_go_template("{{ .System }}|{{.Prompt}}|{{ .Response }}", d), "S|P|R");
  EXPECT_EQ(render_go_template("{{ $.Prompt }}", d), "P");
  EXPECT_EQ(render_go_template("a }} b", d), "a }} b");
}

TEST(GoTemplate, SuffixForFillInTheMiddle) {
  TemplateData d;
  d.prompt = "def f(";
  d.suffix = "):";
  const std::string fim = "<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>";
  EXPECT_EQ(render_go_template(fim, d), "<PRE> def f( <SUF>): <MID>");
  EXPECT_TRUE(GoTemplate(fim).uses_suffix());
  EXPECT_TRUE(GoTemplate("{{ if .Suffix }}x{{ end }}").uses_suffix());
  EXPECT_FALSE(GoTemplate("{{ .Prompt }}").uses_suffix());
}

TEST(GoTemplate, Llama2Style) {
  const std::string tmpl = "[INST] <<SYS>>{{ .System }}<</SYS>>\n\n{{ .Prompt }} [/INST]";
  TemplateData d;
  d.system = "Be kind.";
  d.prompt = "Why is the sky blue?";
  EXPECT_EQ(render_go_template(tmpl, d), "[INST] <<SYS>>Be kind.<</SYS>>\n\nWhy is the sky blue? [/INST]");
}

TEST(GoTemplate, ChatmlPromptStyleWithIf) {
  const std::string tmpl =
      "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
      "{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}"
      "<|im_start|>assistant\n{{ .Response }}<|im_end|>\n";
  TemplateData d;
  d.prompt = "Hi";
  EXPECT_EQ(render_go_template(tmpl, d), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n");
  d.system = "Sys";
  EXPECT_EQ(render_go_template(tmpl, d),
            "<|im_start|>system\nSys<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n");
}

TEST(GoTemplate, ChatmlMessagesWithRangeAndTrim) {
  const std::string tmpl =
      "{{- range .Messages }}<|im_start|>{{ .Role }}\n"
      "{{ .Content }}<|im_end|>\n"
      "{{ end }}<|im_start|>assistant\n";
  EXPECT_EQ(render_go_template(tmpl, chat_data()),
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n"
            "<|im_start|>user\nBye<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(GoTemplate, RootFieldsInsideRangeUseDollar) {
  const std::string tmpl = "{{ range .Messages }}{{ $.System }}:{{ .Role }};{{ end }}";
  TemplateData d = chat_data();
  d.messages.resize(2);
  EXPECT_EQ(render_go_template(tmpl, d), "Be brief.:system;Be brief.:user;");
}

TEST(GoTemplate, TrimMarkers) {
  TemplateData d;
  d.prompt = "P";
  EXPECT_EQ(render_go_template("a  \n\t{{- .Prompt }}  b", d), "aP  b");
  EXPECT_EQ(render_go_template("a  {{ .Prompt -}} \n\n b", d), "a  Pb");
  EXPECT_EQ(render_go_template("a \n {{- .Prompt -}} \n b", d), "aPb");
  EXPECT_EQ(render_go_template("x\n{{- /* a comment */ -}}\ny", d), "xy");
  EXPECT_EQ(render_go_template("x{{/* c }} inside */}}y", d), "xy");
  // Llama 3 style: every line break between actions trimmed.
  const std::string tmpl =
      "{{- if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>\n{{- end }}\n"
      "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>\n"
      "{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n";
  TemplateData c = chat_data();
  c.messages = {{"user", "Hi"}};
  EXPECT_EQ(render_go_template(tmpl, c),
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(GoTemplate, IfElseIfElse) {
  const std::string tmpl = "{{ if .System }}S{{ else if .Prompt }}P{{ else }}none{{ end }}";
  TemplateData d;
  EXPECT_EQ(render_go_template(tmpl, d), "none");
  d.prompt = "x";
  EXPECT_EQ(render_go_template(tmpl, d), "P");
  d.system = "y";
  EXPECT_EQ(render_go_template(tmpl, d), "S");
  EXPECT_EQ(render_go_template("{{ if .Messages }}chat{{ else }}generate{{ end }}", d), "generate");
  EXPECT_EQ(render_go_template("{{ if .Messages }}chat{{ else }}generate{{ end }}", chat_data()), "chat");
}

TEST(GoTemplate, NestedIfInsideRange) {
  const std::string tmpl =
      "{{ range .Messages }}{{ if .Content }}[{{ .Role }}]{{ .Content }}{{ else }}(empty){{ end }}{{ end }}";
  TemplateData d;
  d.messages = {{"user", "a"}, {"assistant", ""}};
  EXPECT_EQ(render_go_template(tmpl, d), "[user]a(empty)");
}

TEST(GoTemplate, RangeElseRunsForNoMessages) {
  const std::string tmpl = "{{ range .Messages }}{{ .Content }}{{ else }}{{ .Prompt }}{{ end }}";
  TemplateData d;
  d.prompt = "solo";
  EXPECT_EQ(render_go_template(tmpl, d), "solo");
  EXPECT_EQ(render_go_template(tmpl, chat_data()), "Be brief.HiHello!Bye");
}

TEST(GoTemplate, ParsedTemplateRendersRepeatedly) {
  GoTemplate t("<{{ .Prompt }}>");
  TemplateData d;
  d.prompt = "1";
  EXPECT_EQ(t.render(d), "<1>");
  d.prompt = "2";
  EXPECT_EQ(t.render(d), "<2>");
}

TEST(GoTemplate, StopsAfterResponseForTheGeneratedTurn) {
  GoTemplate t("{{ if .Prompt }}<user>{{ .Prompt }}</user>{{ end }}<bot>{{ .Response }}</bot>\n");
  TemplateData d;
  d.prompt = "Hi";
  EXPECT_EQ(t.render(d), "<user>Hi</user><bot></bot>\n");
  EXPECT_EQ(t.render(d, true), "<user>Hi</user><bot>");
  d.response = "Hello";
  EXPECT_EQ(t.render(d, true), "<user>Hi</user><bot>Hello");
  GoTemplate no_response("<user>{{ .Prompt }}</user>");
  EXPECT_EQ(no_response.render(d, true), "<user>Hi</user>");
}

TEST(GoTemplate, KnowsWhetherItReadsMessages) {
  EXPECT_FALSE(GoTemplate("{{ .System }}{{ .Prompt }}{{ .Response }}").uses_messages());
  EXPECT_TRUE(GoTemplate("{{ range .Messages }}{{ .Content }}{{ end }}").uses_messages());
  EXPECT_TRUE(GoTemplate("{{ if .Messages }}x{{ end }}").uses_messages());
}

TEST(GoTemplate, RejectsUnknownFields) {
  EXPECT_NE(error_of("{{ .Foo }}").find("unknown field .Foo"), std::string::npos);
  EXPECT_NE(error_of("{{ .Role }}").find("only inside {{ range .Messages }}"), std::string::npos);
  EXPECT_NE(error_of("{{ range .Messages }}{{ .System }}{{ end }}").find("use $.System"), std::string::npos);
  EXPECT_NE(error_of("{{ if .Tools }}x{{ end }}").find(".Tools"), std::string::npos);
  EXPECT_NE(error_of("{{ .Messages }}").find("cannot print"), std::string::npos);
  EXPECT_NE(error_of("{{ range .Prompt }}{{ end }}").find("cannot range"), std::string::npos);
  EXPECT_NE(error_of("{{ .Prompt.Len }}").find("nested"), std::string::npos);
  EXPECT_NE(error_of("{{ . }}").find("on its own"), std::string::npos);
}

TEST(GoTemplate, RejectsFunctionsPipesVariablesLiterals) {
  EXPECT_NE(error_of("{{ if or .System .Prompt }}x{{ end }}").find("'if' takes exactly one field"), std::string::npos);
  EXPECT_NE(error_of("{{ .Content | json }}").find("pipelines"), std::string::npos);
  EXPECT_NE(error_of("{{ json .Prompt }}").find("function 'json'"), std::string::npos);
  EXPECT_NE(error_of("{{ range $i, $m := .Messages }}{{ end }}").find("variables"), std::string::npos);
  EXPECT_NE(error_of("{{ $x }}").find("variables"), std::string::npos);
  EXPECT_NE(error_of("{{ \"hi\" }}").find("literals"), std::string::npos);
  EXPECT_NE(error_of("{{ 3 }}").find("literals"), std::string::npos);
  EXPECT_NE(error_of("{{ with .System }}{{ . }}{{ end }}").find("'with' is not supported"), std::string::npos);
  EXPECT_NE(error_of("{{ template \"x\" }}").find("'template' is not supported"), std::string::npos);
  EXPECT_NE(error_of("{{ if (eq .Role \"user\") }}{{ end }}").find("parenthesized"), std::string::npos);
  EXPECT_NE(error_of("{{ if eq .System \"\" }}{{ end }}").find("'if' takes exactly one field"), std::string::npos);
}

TEST(GoTemplate, RejectsBrokenStructure) {
  EXPECT_NE(error_of("{{ if .System }}x").find("missing its {{ end }}"), std::string::npos);
  EXPECT_NE(error_of("{{ range .Messages }}x").find("missing its {{ end }}"), std::string::npos);
  EXPECT_NE(error_of("x{{ end }}").find("without a matching"), std::string::npos);
  EXPECT_NE(error_of("x{{ else }}").find("without a matching"), std::string::npos);
  EXPECT_NE(error_of("{{ .Prompt ").find("unclosed action"), std::string::npos);
  EXPECT_NE(error_of("{{/* never closed }}").find("unclosed comment"), std::string::npos);
  EXPECT_NE(error_of("{{ }}").find("empty action"), std::string::npos);
  EXPECT_NE(error_of("{{-.Prompt }}").find("trim marker"), std::string::npos);
  EXPECT_NE(error_of("{{ .Prompt-}}").find("trim marker"), std::string::npos);
  EXPECT_NE(error_of("{{ if .System }}a{{ else }}b{{ else }}c{{ end }}").find("after {{ else }}"), std::string::npos);
  EXPECT_NE(error_of("{{ end x }}").find("after {{ end }}"), std::string::npos);
}

TEST(GoTemplate, ErrorsNameTheLine) {
  EXPECT_NE(error_of("line one\nline two {{ .Nope }}").find("line 2"), std::string::npos);
  EXPECT_THROW(render_go_template("{{ .Nope }}", {}), std::invalid_argument);
}

}  // namespace
}  // namespace ebb
