// `ebb run` against a real `ebb serve`: one-shot and piped prompts, and the interactive chat
// driven in tmux (keys sent with send-keys, the screen read with capture-pane). Where a test must
// see what the CLI sent, it talks to the server through a recording proxy.
#include <atomic>
#include <mutex>
#include <regex>
#include <sstream>

#include "serve_fixture.h"

namespace ebb::test {
namespace {

// A shell word: 'text' with quotes escaped.
std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string strip_blanks(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Forwards every request to the server and records it (path and JSON body). Answers come back
// whole, not streamed, which is all a recorded test needs.
class RecordingProxy {
 public:
  explicit RecordingProxy(int upstream) : upstream_(upstream) {
    const auto forward = [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        log_.push_back({req.path, json::parse(req.body.empty() ? "null" : req.body, nullptr, false)});
      }
      httplib::Client c("127.0.0.1", upstream_);
      c.set_read_timeout(300, 0);
      auto r = req.method == "POST" ? c.Post(req.path.c_str(), req.body, "application/json") : c.Get(req.path.c_str());
      if (!r) {
        res.status = 502;
        return;
      }
      res.status = r->status;
      res.set_content(r->body, r->get_header_value("Content-Type").c_str());
    };
    server_.Post(".*", forward);
    server_.Get(".*", forward);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    wait_until([this] { return server_.is_running(); });
  }
  ~RecordingProxy() {
    server_.stop();
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The bodies sent to `path`, oldest first.
  std::vector<json> bodies(const std::string& path) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<json> out;
    for (const auto& [p, body] : log_)
      if (p == path) out.push_back(body);
    return out;
  }

 private:
  int upstream_;
  int port_ = -1;
  httplib::Server server_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, json>> log_;
};

bool have_tmux() {
  int rc = -1;
  run_command("command -v tmux >/dev/null 2>&1", &rc);
  return rc == 0;
}

// One command in a detached tmux session of a private tmux server, 160x50. The pane stays after
// the command exits, so its exit status can be read.
class Tmux {
 public:
  explicit Tmux(const std::string& command) {
    static std::atomic<int> counter{0};
    socket_ = "ebb-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    tmux("-f /dev/null start-server \\; set-option -g remain-on-exit on \\; new-session -d -s t -x 160 -y 50 " +
         quoted(command));
  }
  ~Tmux() { run_command("tmux -L " + socket_ + " kill-server 2>/dev/null"); }

  void type(const std::string& text) { tmux("send-keys -t t -l -- " + quoted(text)); }
  void key(const std::string& name) { tmux("send-keys -t t " + name); }
  void line(const std::string& text) {
    type(text);
    key("Enter");
  }
  // The screen and its scrollback, wrapped lines joined, trailing blank lines dropped.
  std::string screen() const {
    std::string s = run_command("tmux -L " + socket_ + " capture-pane -p -J -t t -S - 2>/dev/null");
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  // Lines that start with ">>> ": the prompts shown so far.
  int prompts() const {
    int n = 0;
    for (const auto& l : lines_of(screen()))
      if (l.rfind(">>> ", 0) == 0) ++n;
    return n;
  }
  // Whether a fresh prompt (with its placeholder) is the last line.
  bool at_prompt() const {
    const auto lines = lines_of(screen());
    return !lines.empty() && lines.back() == ">>> Send a message (/? for help)";
  }
  // Waits for the `n`th prompt to stand fresh at the bottom.
  bool wait_prompt(int n, std::chrono::seconds timeout = std::chrono::seconds(60)) const {
    return wait_until([&] { return at_prompt() && prompts() >= n; }, timeout);
  }
  bool wait_text(const std::string& text, std::chrono::seconds timeout = std::chrono::seconds(60)) const {
    return wait_until([&] { return screen().find(text) != std::string::npos; }, timeout);
  }
  // The exit status once the command has exited; -1 while it runs.
  int exit_status() const {
    const std::string s =
        run_command("tmux -L " + socket_ + " display-message -p -t t '#{pane_dead} #{pane_dead_status}' 2>/dev/null");
    if (s.rfind("1 ", 0) != 0) return -1;
    return std::atoi(s.c_str() + 2);
  }
  bool wait_exit(int* status) const {
    const bool exited = wait_until([&] { return exit_status() >= 0; }, std::chrono::seconds(20));
    *status = exit_status();
    return exited;
  }

 private:
  void tmux(const std::string& args) const {
    int rc = -1;
    const std::string out = run_command("tmux -L " + socket_ + " " + args + " 2>&1", &rc);
    if (rc != 0) ADD_FAILURE() << "tmux " << args << ": " << out;
  }
  std::string socket_;
};

class Run : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Server();
    home_ = new fs::path(scratch_dir("ebb-test-run-home"));
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete home_;
  }
  void SetUp() override {
    if (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()).rfind("Chat", 0) == 0 &&
        !have_tmux())
      GTEST_SKIP() << "tmux is not installed (apt-get install tmux; scripts/setup.sh installs it): the interactive "
                      "chat is driven in tmux";
  }

  // The shell command that runs `ebb run ARGS` against `host`, with a HOME of its own.
  static std::string ebb_run(const std::string& args, const std::string& host) {
    return "exec env -u OLLAMA_HOST HOME=" + home_->string() + " EBB_HOST=" + host + " " + EBB_BIN + " run " + args;
  }
  static std::string ebb(const std::string& args, int* rc, const std::string& host = server_->address()) {
    return run_command(
        "env -u OLLAMA_HOST HOME=" + home_->string() + " EBB_HOST=" + host + " " + EBB_BIN + " " + args + " 2>&1", rc);
  }
  // Whether /api/ps shows requests in flight on `model` ("busy" counts them).
  static bool busy(const std::string& model) {
    const json ps = server_->get("/api/ps");
    for (const auto& m : ps.value("models", json::array()))
      if (m.value("name", "") == model && m.contains("busy"))
        return m["busy"].is_boolean() ? m["busy"].get<bool>() : m["busy"].get<int>() > 0;
    return false;
  }

  static Server* server_;
  static fs::path* home_;
};
Server* Run::server_ = nullptr;
fs::path* Run::home_ = nullptr;

TEST_F(Run, OneShotPromptAndVerbose) {
  RecordingProxy proxy(server_->port());
  int rc = -1;
  const std::string out = ebb("run tiny Why is the sky blue --num-predict 5 --verbose", &rc, proxy.address());
  ASSERT_EQ(rc, 0) << out;
  const auto gens = proxy.bodies("/api/generate");
  ASSERT_EQ(gens.size(), 1u);
  EXPECT_EQ(gens[0]["prompt"], "Why is the sky blue");  // the words joined, as ollama does
  EXPECT_EQ(gens[0]["options"]["num_predict"], 5);
  EXPECT_NE(out.find("\n\ntotal duration:       "), std::string::npos) << out;
  EXPECT_NE(out.find("\neval count:           5 token(s)\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nprompt eval rate:     "), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(\neval rate: +\d+\.\d\d tokens/s\n)"))) << out;
}

TEST_F(Run, PipedStdin) {
  RecordingProxy proxy(server_->port());
  int rc = -1;
  std::string out = ebb("run tiny --num-predict 4 < /dev/null", &rc, proxy.address());  // nothing: only loads
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "");
  out = run_command("printf 'from stdin\\n' | env HOME=" + home_->string() + " " + EBB_BIN + " run tiny --host " +
                        proxy.address() + " --num-predict 4 and args 2>&1",
                    &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_GE(out.size(), 2u);
  EXPECT_EQ(out.substr(out.size() - 2), "\n\n") << out;
  EXPECT_EQ(out.find("\x1b"), std::string::npos) << "no escape sequences into a pipe";
  const auto gens = proxy.bodies("/api/generate");
  ASSERT_EQ(gens.size(), 2u);
  EXPECT_FALSE(gens[0].contains("prompt") && gens[0]["prompt"] != "") << gens[0];
  EXPECT_EQ(gens[1]["prompt"], "from stdin\n and args");  // stdin first, as ollama
  EXPECT_TRUE(proxy.bodies("/api/chat").empty());
}

TEST_F(Run, MissingModelAndBadFlags) {
  int rc = -1;
  EXPECT_EQ(ebb("run nope hi", &rc), "Error: model \"nope\" not found\n");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(ebb("run tiny hi --think=maybe", &rc).find("invalid value for --think"), std::string::npos);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(ebb("run tiny hi --keepalive soon", &rc).find("Error: "), std::string::npos);
  EXPECT_EQ(rc, 1);
}

TEST_F(Run, ChatAnswersAndKeepsTheHistory) {
  RecordingProxy proxy(server_->port());
  Tmux t(ebb_run("tiny --num-predict 12 --keepalive 10m", proxy.address()));
  ASSERT_TRUE(t.wait_prompt(1)) << t.screen();
  // The model was loaded first: an /api/generate without a prompt, with the keep-alive.
  const auto gens = proxy.bodies("/api/generate");
  ASSERT_EQ(gens.size(), 1u);
  EXPECT_EQ(gens[0], json({{"model", "tiny"}, {"keep_alive", "10m"}}));

  t.line("Why is the sky blue?");
  ASSERT_TRUE(t.wait_prompt(2)) << t.screen();
  t.line("And the sea?");
  ASSERT_TRUE(t.wait_prompt(3)) << t.screen();

  const auto chats = proxy.bodies("/api/chat");
  ASSERT_EQ(chats.size(), 2u);
  EXPECT_EQ(chats[0]["messages"], json::parse(R"([{"role":"user","content":"Why is the sky blue?"}])"));
  const json& second = chats[1]["messages"];
  ASSERT_EQ(second.size(), 3u) << second;
  EXPECT_EQ(second[0], chats[0]["messages"][0]);
  EXPECT_EQ(second[1]["role"], "assistant");
  EXPECT_EQ(second[2], json({{"role", "user"}, {"content", "And the sea?"}}));
  EXPECT_EQ(chats[1]["keep_alive"], "10m");
  EXPECT_EQ(chats[1]["options"]["num_predict"], 12);
  // The first answer is what the screen showed after the question.
  const std::string answer = second[1]["content"];
  ASSERT_FALSE(strip_blanks(answer).empty());
  const std::string screen = t.screen();
  const size_t asked = screen.find(">>> Why is the sky blue?\n");
  ASSERT_NE(asked, std::string::npos) << screen;
  EXPECT_NE(strip_blanks(screen.substr(asked)).find(strip_blanks(answer)), std::string::npos)
      << "answer: " << answer << "\nscreen:\n"
      << screen;

  t.line("/bye");
  int status = -1;
  ASSERT_TRUE(t.wait_exit(&status)) << t.screen();
  EXPECT_EQ(status, 0);
}

TEST_F(Run, ChatMultiLineSystemAndParameters) {
  RecordingProxy proxy(server_->port());
  Tmux t(ebb_run("tiny --num-predict 12", proxy.address()));
  ASSERT_TRUE(t.wait_prompt(1)) << t.screen();

  t.line(R"(""")");
  ASSERT_TRUE(t.wait_text(">>> \"\"\"\n...")) << t.screen();  // the continuation prompt
  t.line("line one");
  t.line("line two");
  t.line(R"(""")");
  ASSERT_TRUE(t.wait_prompt(2)) << t.screen();
  auto chats = proxy.bodies("/api/chat");
  ASSERT_EQ(chats.size(), 1u);
  EXPECT_EQ(chats[0]["messages"], json::parse(R"([{"role":"user","content":"line one\nline two"}])"));
  EXPECT_NE(t.screen().find("\n... line one\n... line two\n... \"\"\"\n"), std::string::npos) << t.screen();

  t.line("/set system You are terse.");
  ASSERT_TRUE(t.wait_text("Set system message.")) << t.screen();
  t.line("/set parameter num_predict 3");
  ASSERT_TRUE(t.wait_text("Set parameter 'num_predict' to '3'")) << t.screen();
  t.line("/set verbose");
  ASSERT_TRUE(t.wait_text("Set 'verbose' mode.")) << t.screen();
  t.line("/set parameter colour blue");
  ASSERT_TRUE(t.wait_text("Couldn't set parameter: \"unknown parameter 'colour'\"")) << t.screen();
  const int before = t.prompts();
  t.line("hi");
  ASSERT_TRUE(t.wait_prompt(before + 1)) << t.screen();
  // num_predict 3 took effect: the server generated three tokens.
  EXPECT_NE(t.screen().find("\neval count:           3 token(s)\n"), std::string::npos) << t.screen();
  chats = proxy.bodies("/api/chat");
  ASSERT_EQ(chats.size(), 2u);
  EXPECT_EQ(chats[1]["options"], json({{"num_predict", 3}}));
  const json& m = chats[1]["messages"];
  ASSERT_EQ(m.size(), 4u) << m;
  EXPECT_EQ(m[2], json({{"role", "system"}, {"content", "You are terse."}}));
  EXPECT_EQ(m[3], json({{"role", "user"}, {"content", "hi"}}));

  t.line("/show parameters");
  ASSERT_TRUE(t.wait_text("User defined parameters:\n  num_predict                    3\n")) << t.screen();
  t.line("/show system");
  ASSERT_TRUE(t.wait_text("\nYou are terse.\n")) << t.screen();
  t.line("/clear");
  ASSERT_TRUE(t.wait_text("Cleared session context")) << t.screen();
  t.line("/set quiet");
  ASSERT_TRUE(t.wait_text("Set 'quiet' mode.")) << t.screen();
  const int cleared = t.prompts();
  t.line("again");
  ASSERT_TRUE(t.wait_prompt(cleared + 1)) << t.screen();
  chats = proxy.bodies("/api/chat");
  ASSERT_EQ(chats.size(), 3u);
  EXPECT_EQ(chats[2]["messages"], json::parse(R"([{"role":"system","content":"You are terse."},
                                                  {"role":"user","content":"again"}])"));
  t.line("/bogus");
  ASSERT_TRUE(t.wait_text("Unknown command '/bogus'. Type /? for help")) << t.screen();
  t.line("/?");
  ASSERT_TRUE(t.wait_text("Use \"\"\" to begin a multi-line message.")) << t.screen();
  t.line("/show info");
  ASSERT_TRUE(t.wait_text("  Model\n    architecture        llama\n")) << t.screen();
}

TEST_F(Run, ChatLineEditingAndHistory) {
  RecordingProxy proxy(server_->port());
  Tmux t(ebb_run("tiny --num-predict 4", proxy.address()));
  ASSERT_TRUE(t.wait_prompt(1)) << t.screen();
  t.type("wrld");
  t.key("Left Left Left");
  t.type("o");
  t.key("End");
  t.type("!!");
  t.key("BSpace");
  t.key("Enter");
  ASSERT_TRUE(t.wait_prompt(2)) << t.screen();
  t.type("junk");
  t.key("C-u");
  t.key("Up");  // the line before
  t.key("Enter");
  ASSERT_TRUE(t.wait_prompt(3)) << t.screen();
  const auto chats = proxy.bodies("/api/chat");
  ASSERT_EQ(chats.size(), 2u);
  EXPECT_EQ(chats[0]["messages"].back()["content"], "world!");
  EXPECT_EQ(chats[1]["messages"].back()["content"], "world!");
  // The history file, as ollama's ~/.ollama/history.
  std::ifstream history(*home_ / ".ebb" / "history");
  std::string last, line;
  while (std::getline(history, line)) last = line;
  EXPECT_EQ(last, "world!");
}

TEST_F(Run, ChatCtrlCStopsTheAnswerAndCtrlDExits) {
  Tmux t(ebb_run("tiny --nowordwrap", server_->address()));
  ASSERT_TRUE(t.wait_prompt(1)) << t.screen();
  // Ctrl-C at the prompt drops the line and says how to leave.
  t.type("never sent");
  t.key("C-c");
  ASSERT_TRUE(t.wait_text("Use Ctrl + d or /bye to exit.")) << t.screen();
  ASSERT_TRUE(t.wait_prompt(2)) << t.screen();

  // A long answer: the model is busy while it streams.
  t.line("/set parameter num_predict 100000");
  ASSERT_TRUE(t.wait_text("Set parameter 'num_predict' to '100000'")) << t.screen();
  t.line("Tell me everything.");
  ASSERT_TRUE(wait_until([&] { return busy("tiny"); }, std::chrono::seconds(60))) << t.screen();
  const std::string screen = t.screen();
  ASSERT_TRUE(wait_until([&] { return t.screen().size() > screen.size() + 20; }, std::chrono::seconds(30)))
      << "no answer streamed:\n"
      << t.screen();
  const int asked = t.prompts();
  t.key("C-c");
  // Back at the prompt, and the server cancelled the request: the model is idle again.
  ASSERT_TRUE(t.wait_prompt(asked + 1, std::chrono::seconds(20))) << t.screen();
  EXPECT_TRUE(wait_until([&] { return !busy("tiny"); }, std::chrono::seconds(5)));
  EXPECT_EQ(t.exit_status(), -1) << "Ctrl-C stops the answer, not the chat";

  // Ctrl-D on an empty line exits.
  t.key("C-d");
  int status = -1;
  ASSERT_TRUE(t.wait_exit(&status)) << t.screen();
  EXPECT_EQ(status, 0);
}

// A model whose template reasons (DeepSeek-R1's): the chat asks it to think, as ollama does for a
// model with the "thinking" capability, and shows the reasoning under "Thinking..."; /set nothink
// turns it off.
TEST_F(Run, ChatShowsTheThinking) {
  static const fs::path dir = [] {
    fs::path d = scratch_dir("ebb-test-run-think");
    run_capture(
        std::string(EBB_BIN) + " synth --out " + (d / "r1.gguf").string() + " --params 20M --seed 5 --chat-template " +
        (fs::path(LLAMA_TEMPLATES_DIR) / "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja").string() + " >/dev/null");
    return d;
  }();
  Server server({}, dir);
  RecordingProxy proxy(server.port());
  Tmux t(ebb_run("r1 --num-predict 8", proxy.address()));
  ASSERT_TRUE(t.wait_prompt(1)) << t.screen();
  t.line("hi");
  ASSERT_TRUE(t.wait_prompt(2)) << t.screen();
  EXPECT_NE(t.screen().find(">>> hi\nThinking...\n"), std::string::npos) << t.screen();
  t.line("/set nothink");
  ASSERT_TRUE(t.wait_text("Set 'nothink' mode.")) << t.screen();
  t.line("again");
  ASSERT_TRUE(t.wait_prompt(4)) << t.screen();
  const std::string screen = t.screen();
  EXPECT_EQ(screen.find("Thinking...", screen.find(">>> again")), std::string::npos) << screen;
  const auto chats = proxy.bodies("/api/chat");
  ASSERT_EQ(chats.size(), 2u);
  EXPECT_EQ(chats[0]["think"], true);
  EXPECT_EQ(chats[1]["think"], false);
  // The first answer's reasoning went back with it.
  EXPECT_FALSE(chats[1]["messages"][1].value("thinking", "").empty()) << chats[1];
}

}  // namespace
}  // namespace ebb::test
