// The official client libraries, pinned and installed by scripts/clients.sh, against a live
// `ebb serve` (ollama's on the Ollama API, openai's on /v1): each runs a script in tests/clients/
// that asserts every answer and says which step failed.
#include "serve_fixture.h"

namespace ebb::test {
namespace {

// A plain ChatML model and a Qwen 2.5 one (tools), in a directory of their own.
const fs::path& client_models() {
  static const fs::path dir = [] {
    fs::path d = scratch_dir("ebb-test-clients");
    fs::copy_file(models_dir() / "tiny.gguf", d / "tiny.gguf", fs::copy_options::overwrite_existing);
    run_capture(std::string(EBB_BIN) + " synth --out " + (d / "qwen25.gguf").string() +
                " --params 20M --seed 5 --chat-template " +
                (fs::path(LLAMA_TEMPLATES_DIR) / "Qwen-Qwen2.5-7B-Instruct.jinja").string() + " >/dev/null");
    return d;
  }();
  return dir;
}

// Qwen 2.5's call format, the city left to the model.
const char* kQwenCallGrammar =
    R"(root ::= "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"" city "\"}}\n</tool_call>")"
    "\n"
    R"(city ::= "Paris" | "Rome")";

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class Clients : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new Server({"--device-memory", "8GiB"}, client_models()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  // Runs tests/clients/SCRIPT with node; returns its output, `rc` its exit status.
  static std::string run_script(const std::string& script, int* rc) {
    const std::string env = "EBB_URL=http://127.0.0.1:" + std::to_string(server_->port()) +
                            " CLIENTS_DIR=" + shell_quote(EBB_CLIENTS_DIR) +
                            " MODEL=tiny TOOL_MODEL=qwen25 GRAMMAR=" + shell_quote(kQwenCallGrammar);
    return run_command(env + " node " + shell_quote(std::string(CLIENT_SCRIPTS_DIR) + "/" + script) + " 2>&1", rc);
  }
  static Server* server_;
};
Server* Clients::server_ = nullptr;

TEST_F(Clients, OllamaJs) {
  ASSERT_TRUE(fs::exists(fs::path(EBB_CLIENTS_DIR) / "node_modules" / "ollama"))
      << "run scripts/clients.sh (scripts/setup.sh does) to install the pinned clients";
  int rc = -1;
  const std::string out = run_script("ollama_client.js", &rc);
  EXPECT_EQ(rc, 0) << out;
  for (const char* step :
       {"version", "generate", "chat streamed", "list", "ps", "show", "embed", "tool call round trip", "unknown model"})
    EXPECT_NE(out.find(std::string("ok ") + step + "\n"), std::string::npos) << step << ":\n" << out;
}

TEST_F(Clients, OpenAiJs) {
  if (run_command("command -v node").empty()) GTEST_SKIP() << "node is not installed: the openai client cannot run";
  ASSERT_TRUE(fs::exists(fs::path(EBB_CLIENTS_DIR) / "node_modules" / "openai"))
      << "run scripts/clients.sh (scripts/setup.sh does) to install the pinned clients";
  int rc = -1;
  const std::string out = run_script("openai_client.js", &rc);
  EXPECT_EQ(rc, 0) << out;
  for (const char* step :
       {"models", "chat", "chat streamed", "logprobs", "completions", "embeddings", "tool call round trip", "responses",
        "responses streamed", "responses function call round trip", "errors"})
    EXPECT_NE(out.find(std::string("ok ") + step + "\n"), std::string::npos) << step << ":\n" << out;
}

}  // namespace
}  // namespace ebb::test
