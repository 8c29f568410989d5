// Request templates render conversations as Ollama's Template.Execute does: per turn for
// System/Prompt/Response templates (the last turn cut after {{ .Response }}), once for
// templates that range over .Messages.
#include <gtest/gtest.h>

#include "runner/prompt.h"

namespace ebb::runner {
namespace {

const std::vector<TemplateMessage> kConversation = {
    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}};

TEST(PromptTemplate, PerTurnTemplatesRenderEachTurnAndCutTheLast) {
  GoTemplate t("{{ if .System }}[S]{{ .System }}{{ end }}[U]{{ .Prompt }}[A]{{ .Response }}[/A]");
  EXPECT_EQ(render_with_template(t, kConversation), "[S]Be brief.[U]Hi[A]Hello![/A][U]Bye[A]");
  EXPECT_EQ(render_with_template(t, {{"user", "Only"}}), "[U]Only[A]");
}

TEST(PromptTemplate, MessagesTemplatesRenderOnce) {
  GoTemplate t("{{ .System }}|{{ range .Messages }}<{{ .Role }}>{{ .Content }}{{ end }}<assistant>");
  EXPECT_EQ(render_with_template(t, kConversation),
            "Be brief.|<system>Be brief.<user>Hi<assistant>Hello!<user>Bye<assistant>");
}

TEST(PromptTemplate, ConsecutiveMessagesOfOneRoleAreJoined) {
  GoTemplate t("{{ range .Messages }}<{{ .Role }}>{{ .Content }}{{ end }}");
  EXPECT_EQ(render_with_template(t, {{"user", "a"}, {"user", "b"}}), "<user>a\n\nb");
  GoTemplate s("{{ .System }}");
  EXPECT_EQ(render_with_template(s, {{"system", "x"}, {"system", "y"}, {"user", "q"}}), "x\n\ny");
}

}  // namespace
}  // namespace ebb::runner
