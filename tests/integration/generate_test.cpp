// The walking skeleton end to end: real `ebb serve`, real runners, real HTTP.
#include <atomic>
#include <sstream>

#include "serve_fixture.h"

namespace ebb::test {
namespace {

class Generate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new Server(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static Server* server_;
  const json greedy = {{"temperature", 0}, {"repeat_penalty", 1.0}, {"num_predict", 16}};
};
Server* Generate::server_ = nullptr;

TEST_F(Generate, RootAndVersion) {
  auto c = server_->client();
  auto r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ebb is running");
  EXPECT_TRUE(server_->get("/api/version").contains("version"));
}

TEST_F(Generate, SecondServeOnTheSamePortFailsClearly) {
  int rc = 0;
  std::string out = run_command("timeout 30 " + std::string(EBB_BIN) + " serve --host " + server_->address() +
                                    " --models " + models_dir().string() + " 2>&1",
                                &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(rc, 124) << "the second serve started instead of failing";
  EXPECT_NE(out.find("cannot listen"), std::string::npos) << out;
  EXPECT_EQ(server_->get("/api/version").value("version", ""), "0.1.0");  // the first one still serves
}

TEST_F(Generate, ListenBacklogHoldsABurstOfClients) {
  // `ss -lnt` shows a listening socket's backlog as Send-Q.
  std::string out = run_capture("ss -Hlnt 'sport = :" + std::to_string(server_->port()) + "'");
  std::istringstream in(out);
  std::string state;
  long recv_q = -1, send_q = -1;
  in >> state >> recv_q >> send_q;
  EXPECT_EQ(state, "LISTEN") << out;
  EXPECT_GE(send_q, 1024) << out;
}

TEST_F(Generate, StreamsNdjsonWithFinalStats) {
  auto lines =
      server_->stream("/api/generate", {{"model", "tiny"}, {"prompt", "Tell me a story"}, {"options", greedy}});
  ASSERT_GE(lines.size(), 2u);
  std::string text;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_FALSE(lines[i]["done"].get<bool>());
    text += lines[i]["response"].get<std::string>();
  }
  const auto& last = lines.back();
  EXPECT_TRUE(last["done"].get<bool>());
  EXPECT_EQ(last["done_reason"], "length");
  EXPECT_EQ(last["eval_count"], 16);
  EXPECT_GT(last["prompt_eval_count"].get<int>(), 0);
  for (const char* k : {"total_duration", "load_duration", "prompt_eval_duration", "eval_duration"})
    EXPECT_TRUE(last[k].is_number_integer()) << k;
  EXPECT_GT(last["total_duration"].get<int64_t>(), last["eval_duration"].get<int64_t>());
  EXPECT_FALSE(text.empty());
}

// Streamed tokens leave from the runner's reader thread while the socket takes them; the text
// must be the non-streamed text, in order.
TEST_F(Generate, StreamedTextIsTheUnstreamedText) {
  json opts = {{"temperature", 0}, {"num_predict", 64}};
  json body = {{"model", "tiny"}, {"prompt", "Write a long story about a river"}, {"options", opts}};
  auto lines = server_->stream("/api/generate", body);
  ASSERT_GE(lines.size(), 2u);
  std::string streamed;
  for (const auto& l : lines) streamed += l.value("response", "");
  EXPECT_EQ(lines.back()["eval_count"], 64);
  body["stream"] = false;
  auto [status, text] = server_->post("/api/generate", body);
  ASSERT_EQ(status, 200) << text;
  EXPECT_EQ(streamed, json::parse(text)["response"].get<std::string>());
}

TEST_F(Generate, ChatStreamsMessages) {
  json body = {{"model", "tiny"},
               {"messages", {{{"role", "system"}, {"content", "be brief"}}, {{"role", "user"}, {"content", "hi"}}}},
               {"options", greedy}};
  auto lines = server_->stream("/api/chat", body);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0]["message"]["role"], "assistant");
  EXPECT_TRUE(lines[0]["message"]["content"].is_string());
  EXPECT_TRUE(lines.back()["done"].get<bool>());
  EXPECT_EQ(lines.back()["eval_count"], 16);
}

TEST_F(Generate, StreamFalseGivesOneObject) {
  auto [status, text] =
      server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "abc"}, {"stream", false}, {"options", greedy}});
  ASSERT_EQ(status, 200);
  auto j = json::parse(text);  // exactly one JSON document
  EXPECT_TRUE(j["done"].get<bool>());
  EXPECT_FALSE(j["response"].get<std::string>().empty());
  auto [cs, ctext] = server_->post("/api/chat", {{"model", "tiny"},
                                                 {"messages", {{{"role", "user"}, {"content", "x"}}}},
                                                 {"stream", false},
                                                 {"options", greedy}});
  ASSERT_EQ(cs, 200);
  EXPECT_FALSE(json::parse(ctext)["message"]["content"].get<std::string>().empty());
}

TEST_F(Generate, SameSeedSameText) {
  json opts = {{"temperature", 0.9}, {"seed", 42}, {"num_predict", 24}};
  json body = {{"model", "tiny"}, {"prompt", "Once upon a time"}, {"options", opts}};
  std::string a = server_->generate_text(body);
  std::string b = server_->generate_text(body);
  EXPECT_EQ(a, b);
  json other = body;
  other["options"]["seed"] = 43;
  EXPECT_NE(a, server_->generate_text(other)) << "a different seed should sample differently";
  json zero = {
      {"model", "tiny"}, {"prompt", "Once upon a time"}, {"options", {{"temperature", 0}, {"num_predict", 24}}}};
  EXPECT_EQ(server_->generate_text(zero), server_->generate_text(zero));
}

TEST_F(Generate, GreedyMatchesDirectLlamaCpp) {
  const std::string prompt = "The quick brown fox jumps over the lazy dog";
  json body = {
      {"model", "tiny"},
      {"prompt", prompt},
      {"raw", true},
      {"options",
       {{"temperature", 0}, {"repeat_penalty", 1.0}, {"num_predict", 32}, {"num_ctx", 4096}, {"num_batch", 512}}}};
  std::string ebb_text = server_->generate_text(body);
  std::string direct = run_capture(std::string(LLAMA_DIRECT_BIN) + " " + (models_dir() / "tiny.gguf").string() + " '" +
                                   prompt + "' 32 4096 512");
  EXPECT_FALSE(direct.empty());
  EXPECT_EQ(ebb_text, direct);
}

TEST_F(Generate, ConcurrentRequestsToOneSlotAllComplete) {
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&, i] {
      json body = {
          {"model", "tiny2"}, {"prompt", "client " + std::to_string(i)}, {"stream", false}, {"options", greedy}};
      if (server_->post("/api/generate", body).first == 200) ++ok;
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 4);
}

TEST_F(Generate, UnknownModelIs404) {
  auto [status, text] = server_->post("/api/generate", {{"model", "no-such-model"}, {"prompt", "x"}});
  EXPECT_EQ(status, 404);
  EXPECT_TRUE(json::parse(text).contains("error"));
  auto [cs, ctext] = server_->post("/api/chat", {{"model", "no-such-model"}, {"messages", json::array()}});
  EXPECT_EQ(cs, 404);
}

TEST_F(Generate, BadRequestsAre400) {
  EXPECT_EQ(server_->post_raw("/api/generate", "{not json").first, 400);
  EXPECT_EQ(server_->post_raw("/api/generate", "[1,2]").first, 400);
  EXPECT_EQ(server_->post("/api/generate", {{"prompt", "no model"}}).first, 400);
  EXPECT_EQ(
      server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "x"}, {"options", {{"temperature", "hot"}}}}).first,
      400);
  EXPECT_EQ(server_->post("/api/chat", {{"model", "tiny"}, {"messages", "hello"}}).first, 400);
}

TEST_F(Generate, CorruptGgufFailsCleanlyWhileOthersServe) {
  const json tags = server_->get("/api/tags");
  const auto listed = std::find_if(tags["models"].begin(), tags["models"].end(),
                                   [](const json& m) { return m["name"] == "corrupt:latest"; });
  ASSERT_NE(listed, tags["models"].end()) << "listed with its reason: " << tags.dump();
  EXPECT_NE(listed->value("error", "").find("unsupported GGUF version"), std::string::npos) << listed->dump();
  auto [status, text] = server_->post("/api/generate", {{"model", "corrupt"}, {"prompt", "x"}});
  EXPECT_EQ(status, 500);
  EXPECT_NE(json::parse(text)["error"].get<std::string>().find("model 'corrupt' could not be loaded"),
            std::string::npos);
  EXPECT_FALSE(server_->generate_text({{"model", "tiny2"}, {"prompt", "still fine"}, {"options", greedy}}).empty());
}

TEST_F(Generate, TagsAndPs) {
  auto tags = server_->get("/api/tags");
  std::vector<std::string> names;
  for (const auto& m : tags["models"]) names.push_back(m["name"]);
  EXPECT_NE(std::find(names.begin(), names.end(), "tiny:latest"), names.end());
  server_->generate_text({{"model", "tiny"}, {"prompt", "x"}, {"options", greedy}});
  auto ps = server_->get("/api/ps");
  bool found = false;
  for (const auto& m : ps["models"]) {
    if (m["name"] != "tiny") continue;
    found = true;
    EXPECT_GT(m["size"].get<uint64_t>(), 0u);
    EXPECT_EQ(m["context_length"], 4096);
    EXPECT_TRUE(m["expires_at"].is_string());
  }
  EXPECT_TRUE(found);
}

TEST_F(Generate, RunnerKilledFailsRequestAndReloads) {
  Server s;
  int fd = send_generate_raw(
      s.port(), {{"model", "tiny"}, {"prompt", "x"}, {"options", {{"num_predict", 100000}, {"temperature", 0}}}});
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(read_first_chunk(fd)) << "the runner is generating";
  for (pid_t p : runner_pids(s.pid())) ::kill(p, SIGKILL);
  const std::string rest = read_to_last_chunk(fd);
  ::close(fd);
  const size_t error = rest.rfind("{\"error\"");
  ASSERT_NE(error, std::string::npos) << rest;
  EXPECT_NE(rest.find("signal 9", error), std::string::npos) << rest.substr(error);
  EXPECT_EQ(rest.find("\"response\"", error), std::string::npos)
      << "the error is the last line: " << rest.substr(error);
  // The next request reloads the model.
  EXPECT_FALSE(s.generate_text({{"model", "tiny"}, {"prompt", "again"}, {"options", greedy}}).empty());
}

// The load takes the pre-spawned runner; the next one starts only once no request runs, so that
// starting a process does not share the cores with the woken model's first request.
TEST_F(Generate, TheNextSpareWaitsForTheRequestToEnd) {
  const json endless = {{"num_predict", 100000}, {"temperature", 0}};
  // How long, on this machine and build, it takes from tiny2's answer to tiny's first token (a
  // load from the spare): tiny2's kv_idle below is that plus 1.5 s, so that its release falls
  // after tiny's load took the spare (and inside the 3 s after which a spare starts anyway).
  std::chrono::milliseconds take{};
  {
    Server probe({"--device-memory", "4GiB"});
    probe.generate_text({{"model", "tiny2"}, {"prompt", "x"}, {"options", greedy}});
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(wait_until([&] { return runner_pids(probe.pid()).size() == 2; }));
    int fd = send_generate_raw(probe.port(), {{"model", "tiny"}, {"prompt", "x"}, {"options", endless}});
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(read_first_chunk(fd));
    take = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    ::close(fd);
  }
  auto cfg = write_temp_file("[memory]\nkv_idle = \"" + std::to_string(take.count() + 1500) + "ms\"\n");
  Server s({"--config", cfg.string(), "--device-memory", "4GiB"});  // room for both models
  auto tier = [&](const std::string& model) {
    const json ps = s.get("/api/ps");
    for (const auto& m : ps["models"])
      if (m["name"] == model) return m["tier"].get<std::string>();
    return std::string("cold");
  };
  s.generate_text({{"model", "tiny2"}, {"prompt", "x"}, {"options", greedy}});
  ASSERT_TRUE(wait_until([&] { return runner_pids(s.pid()).size() == 2; })) << "tiny2's runner and a spare";
  int fd = send_generate_raw(s.port(), {{"model", "tiny"}, {"prompt", "x"}, {"options", endless}});
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(read_first_chunk(fd));
  // The timer thread, which starts spares, also releases tiny2's KV, at a deadline after tiny's
  // load took the spare. Once that has happened, so has any spare start the take could have set off.
  ASSERT_EQ(tier("tiny2"), "ready") << "tiny2's KV release must fall after the take: " << s.get("/api/ps").dump();
  ASSERT_TRUE(wait_until([&] { return tier("tiny2") == "warm"; })) << "kv_idle";
  EXPECT_EQ(runner_pids(s.pid()).size(), 2u) << "a spare started while the request ran";
  ::close(fd);  // hanging up ends the request
  EXPECT_TRUE(wait_until([&] { return runner_pids(s.pid()).size() == 3; })) << "the models' runners and a new spare";
  fs::remove(cfg);
}

TEST_F(Generate, RunnerDiesWithSupervisor) {
  std::vector<pid_t> runners;
  {
    Server s;
    s.generate_text({{"model", "tiny"}, {"prompt", "x"}, {"options", greedy}});
    runners = runner_pids(s.pid());  // the model's runner and the pre-spawned spare
    ASSERT_GE(runners.size(), 1u);
    ::kill(s.pid(), SIGKILL);  // no clean shutdown: PR_SET_PDEATHSIG must do it
    s.stop();
  }
  for (pid_t r : runners) EXPECT_TRUE(wait_until([&] { return !process_alive(r); })) << "runner " << r;
}

}  // namespace
}  // namespace ebb::test
