// Faults a long-running daemon meets, each against a real `ebb serve` and real runners: a runner
// killed mid-stream (its client hears at once, other models go on, its bytes leave the ledger,
// the next request loads it again) and a runner that stops making progress (runner_timeout),
// without mistaking a long prefill for a hang.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <chrono>

#include "serve_fixture.h"

namespace ebb::test {
namespace {

using Clock = std::chrono::steady_clock;

const json kEndless = {{"num_predict", 100000}, {"temperature", 0}};

pid_t runner_of(const Server& s, const std::string& model) {
  const json ps = s.get("/api/ps");
  for (const json& m : ps["models"])
    if (m["name"] == model) return m.value("runner_pid", pid_t{0});
  return 0;
}

uint64_t device_used(const Server& s) { return s.get("/api/memory")["devices"][0]["used"].get<uint64_t>(); }

uint64_t accounted(const Server& s, const std::string& model) {
  const json mem = s.get("/api/memory");
  for (const json& m : mem["devices"][0]["models"])
    if (m["name"] == model) return m.value("accounted_bytes", uint64_t{0});
  return 0;
}

// Reads `n` more NDJSON lines of a streaming answer that are generated text (no error, not done).
bool reads_tokens(int fd, int n) {
  std::string got;
  for (int seen = 0; seen < n;) {
    char buf[4096];
    ssize_t k = ::read(fd, buf, sizeof buf);
    if (k <= 0) return false;
    got.append(buf, static_cast<size_t>(k));
    if (got.find("\"error\"") != std::string::npos || got.find("\"done\":true") != std::string::npos) return false;
    seen = 0;
    for (size_t at = 0; (at = got.find("\"response\"", at)) != std::string::npos; ++at) ++seen;
  }
  return true;
}

TEST(Faults, AKilledRunnerFailsItsStreamAtOnceAndLeavesOtherModelsAlone) {
  Server s({"--device-memory", "8GiB"});  // room for both models
  const int a = send_generate_raw(s.port(), {{"model", "tiny"}, {"prompt", "x"}, {"options", kEndless}});
  const int b = send_generate_raw(s.port(), {{"model", "tiny2"}, {"prompt", "y"}, {"options", kEndless}});
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_TRUE(read_first_chunk(a));
  ASSERT_TRUE(read_first_chunk(b));
  const pid_t victim = runner_of(s, "tiny");
  ASSERT_GT(victim, 0);
  ASSERT_GT(accounted(s, "tiny"), 0u);
  const uint64_t used_before = device_used(s);

  const auto killed_at = Clock::now();
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  const std::string rest = read_to_last_chunk(a);
  const auto heard = Clock::now() - killed_at;
  ::close(a);
  const size_t error = rest.rfind("{\"error\"");
  ASSERT_NE(error, std::string::npos) << rest;
  EXPECT_NE(rest.find("signal 9", error), std::string::npos) << rest.substr(error);
  // The bound: the client hears within a second (the runner's socket closing wakes the
  // supervisor at once; nothing polls).
  EXPECT_LT(heard, std::chrono::seconds(1));

  // The other model's stream goes on, untouched.
  EXPECT_TRUE(reads_tokens(b, 20)) << "tiny2's stream stopped when tiny's runner died";
  ::close(b);  // hanging up ends it

  // The dead runner's bytes leave the ledger: what is left is the other model's.
  EXPECT_TRUE(wait_until([&] { return accounted(s, "tiny") == 0; })) << s.get("/api/memory").dump();
  EXPECT_LT(device_used(s), used_before);
  // The next request loads the model again, in a new runner.
  EXPECT_FALSE(s.generate_text({{"model", "tiny"}, {"prompt", "again"}, {"options", {{"num_predict", 4}}}}).empty());
  const pid_t again = runner_of(s, "tiny");
  EXPECT_GT(again, 0);
  EXPECT_NE(again, victim);
}

TEST(Faults, AKilledRunnerEndsAnOpenAIStreamWithAnErrorEvent) {
  Server s;
  const int fd = send_post_raw(s.port(), "/v1/chat/completions",
                               {{"model", "tiny"},
                                {"stream", true},
                                {"max_tokens", 100000},
                                {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  ASSERT_GE(fd, 0);
  std::string got;
  ASSERT_TRUE(read_until(fd, got, "\"content\"")) << got;
  const pid_t victim = runner_of(s, "tiny");
  ASSERT_GT(victim, 0);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  const std::string rest = read_to_last_chunk(fd);
  ::close(fd);
  const size_t error = rest.find("data: {\"error\"");
  ASSERT_NE(error, std::string::npos) << rest;
  EXPECT_NE(rest.find("signal 9", error), std::string::npos) << rest.substr(error);
}

// runner_timeout: a runner stopped with SIGSTOP (alive, silent) is killed once the timeout passes,
// and handled as a crash: an error line, its bytes freed, a reload on the next request.
TEST(Faults, AStalledRunnerIsKilledAfterRunnerTimeout) {
  Server s({"--runner-timeout", "2s"});
  const int fd = send_generate_raw(s.port(), {{"model", "tiny"}, {"prompt", "x"}, {"options", kEndless}});
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(read_first_chunk(fd));
  const pid_t victim = runner_of(s, "tiny");
  ASSERT_GT(victim, 0);
  ASSERT_EQ(::kill(victim, SIGSTOP), 0);
  const std::string rest = read_to_last_chunk(fd);
  ::close(fd);
  const size_t error = rest.rfind("{\"error\"");
  ASSERT_NE(error, std::string::npos) << rest;
  EXPECT_NE(rest.find("no progress for 2 s (runner_timeout)", error), std::string::npos) << rest.substr(error);
  EXPECT_TRUE(wait_until([&] { return !process_alive(victim); })) << "the stopped runner was not killed";
  EXPECT_TRUE(wait_until([&] { return accounted(s, "tiny") == 0; })) << s.get("/api/memory").dump();
  EXPECT_FALSE(s.generate_text({{"model", "tiny"}, {"prompt", "again"}, {"options", {{"num_predict", 4}}}}).empty());
}

// Progress is any finished batch, not only a token: a prefill in many small batches that takes
// several times runner_timeout is served.
TEST(Faults, ALongPrefillIsProgressNotAStall) {
  Server s({"--runner-timeout", "1s"});
  std::string prompt;
  for (int i = 0; i < 1200; ++i) prompt += "memory pages " + std::to_string(i) + " ";
  auto [status, text] =
      s.post("/api/generate",
             {{"model", "tiny"},
              {"prompt", prompt},
              {"stream", false},
              {"options",
               {{"num_predict", 1}, {"num_ctx", 16384}, {"num_batch", 16}, {"num_thread", 1}, {"temperature", 0}}}});
  ASSERT_EQ(status, 200) << text;
  const json r = json::parse(text);
  // The test means something only if the prefill outlasted the timeout.
  EXPECT_GT(r["prompt_eval_duration"].get<int64_t>(), 3'000'000'000) << "prefill took " << r["prompt_eval_duration"];
}

json generate_json(const Server& s, const std::string& model, const std::string& prompt) {
  auto [status, text] = s.post(
      "/api/generate",
      {{"model", model}, {"prompt", prompt}, {"stream", false}, {"options", {{"num_predict", 4}, {"temperature", 0}}}});
  EXPECT_EQ(status, 200) << text;
  return json::parse(text, nullptr, false);
}

// A model file replaced or deleted while the model is parked in the host tier is noticed by size
// and mtime before the next load: the new file is served (never a KV snapshot of the old one), a
// deleted one is a clear error.
TEST(Faults, AModelFileChangedWhileParkedIsNoticedBeforeTheNextLoad) {
  const fs::path dir = scratch_dir("ebb-test-faults-file");
  fs::copy_file(models_dir() / "tiny.gguf", dir / "m.gguf");
  fs::copy_file(models_dir() / "tiny2.gguf", dir / "other.gguf");
  Server s({"--device-memory", "8GiB"}, dir);
  std::string prompt;
  for (int i = 0; i < 40; ++i) prompt += "pages " + std::to_string(i) + " ";
  const json first = generate_json(s, "m", prompt);
  const int64_t full = first["prompt_eval_count"];
  const json expected_other = generate_json(s, "other", prompt);
  auto park = [&] {
    auto [status, text] = s.post("/api/models/unload", {{"model", "m"}});
    ASSERT_EQ(status, 200) << text;
    ASSERT_EQ(json::parse(text)["tier"], "host") << text;
  };
  park();
  // The control: the same file, the same prompt, and its snapshot is restored.
  EXPECT_LT(generate_json(s, "m", prompt)["prompt_eval_count"].get<int64_t>(), full);
  park();

  // Replaced (a new file renamed over it, as tools do): the new weights answer, prefilled in full.
  fs::copy_file(models_dir() / "tiny2.gguf", dir / "m.gguf.tmp");
  fs::rename(dir / "m.gguf.tmp", dir / "m.gguf");
  const json replaced = generate_json(s, "m", prompt);
  EXPECT_EQ(replaced["prompt_eval_count"], full) << "a snapshot of the old file was restored";
  EXPECT_EQ(replaced["response"], expected_other["response"]);

  // Deleted: a clear error, and the server goes on.
  park();
  fs::remove(dir / "m.gguf");
  auto [status, text] = s.post("/api/generate", {{"model", "m"}, {"prompt", "x"}, {"stream", false}});
  EXPECT_EQ(status, 500) << text;
  EXPECT_NE(text.find("its file " + (dir / "m.gguf").string() + " is missing"), std::string::npos) << text;
  EXPECT_FALSE(generate_json(s, "other", "still here").is_discarded());
}

// In the server's child before exec: no CAP_IPC_LOCK (root has it) and a 64 KiB RLIMIT_MEMLOCK,
// as an unprivileged user gets.
void without_mlock() {
  ::prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0);
  rlimit limit{64 << 10, 64 << 10};
  ::setrlimit(RLIMIT_MEMLOCK, &limit);
}

// Whether without_mlock() makes mlock of 1 MiB fail here. Under AddressSanitizer it never does:
// ASan's interceptor turns mlock into a no-op that succeeds (in this test and in the sanitized
// ebb alike), so there is no refusal to test.
bool kernel_refuses_mlock_without_the_capability() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    without_mlock();
    // The server gets its capabilities from the bounding set at exec; this child has no exec,
    // so it drops CAP_IPC_LOCK from its effective set itself.
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct caps[2]{};
    ::syscall(SYS_capget, &header, caps);
    caps[0].effective &= ~(1u << CAP_IPC_LOCK);
    ::syscall(SYS_capset, &header, caps);
    static char page[1 << 20];
    ::_exit(::mlock(page, sizeof page) == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

// mlock refused: the host tier falls back to the page cache, warns once per start (not per
// model), and /api/memory says the tier is not locked; models still park and wake.
TEST(Faults, RefusedMlockFallsBackToThePageCacheAndSaysSoOnce) {
  if (!kernel_refuses_mlock_without_the_capability())
    GTEST_SKIP() << "mlock succeeds here without CAP_IPC_LOCK and past RLIMIT_MEMLOCK (ASan's no-op mlock)";
  const fs::path dir = scratch_dir("ebb-test-faults-mlock");
  fs::copy_file(models_dir() / "tiny.gguf", dir / "a.gguf");
  fs::copy_file(models_dir() / "tiny2.gguf", dir / "b.gguf");
  Server s({"--device-memory", "8GiB"}, dir, without_mlock);
  for (const char* m : {"a", "b"}) {
    EXPECT_FALSE(generate_json(s, m, "x").is_discarded());
    auto [status, text] = s.post("/api/models/unload", {{"model", m}});
    ASSERT_EQ(status, 200) << text;
    EXPECT_EQ(json::parse(text)["tier"], "host") << text;
  }
  const json host = s.get("/api/memory")["host"];
  EXPECT_EQ(host["locking"], false) << host.dump();
  EXPECT_NE(host["lock_error"].get<std::string>().find("mlock"), std::string::npos) << host.dump();
  EXPECT_EQ(host["locked"], 0) << host.dump();
  EXPECT_GT(host["mapped"].get<uint64_t>(), 0u) << host.dump();
  const std::string log = s.log();
  size_t warnings = 0;
  for (size_t at = 0; (at = log.find("mlock refused", at)) != std::string::npos; ++at) ++warnings;
  EXPECT_EQ(warnings, 1u) << log;
  EXPECT_FALSE(generate_json(s, "a", "y").is_discarded());  // wakes from the page cache
}

// The supervisor killed with SIGKILL: its runners go with it (PR_SET_PDEATHSIG), its locked pages
// with its process, and the next start removes what a cut write left in --kv-disk.
TEST(Faults, AKilledSupervisorLeavesNothingBehind) {
  const fs::path kv = scratch_dir("ebb-test-faults-kill");
  std::vector<pid_t> runners;
  {
    Server s({"--device-memory", "8GiB", "--kv-disk", kv.string()});
    EXPECT_FALSE(generate_json(s, "tiny", "x").is_discarded());
    EXPECT_FALSE(generate_json(s, "tiny2", "y").is_discarded());
    auto [status, text] = s.post("/api/models/unload", {{"model", "tiny"}});
    ASSERT_EQ(status, 200) << text;
    EXPECT_GT(s.get("/api/memory")["host"]["locked"].get<uint64_t>(), 0u) << "the host tier locked tiny's file";
    runners = runner_pids(s.pid());
    ASSERT_FALSE(runners.empty());
    std::ofstream(kv / "00000000deadbeef.ebbkv.tmp") << "a write the kill cut short";
    ::kill(s.pid(), SIGKILL);
    s.stop();
  }
  for (pid_t r : runners) EXPECT_TRUE(wait_until([&] { return !process_alive(r); })) << "runner " << r;
  Server again({"--device-memory", "8GiB", "--kv-disk", kv.string()});
  EXPECT_FALSE(fs::exists(kv / "00000000deadbeef.ebbkv.tmp"));
  EXPECT_FALSE(generate_json(again, "tiny", "x").is_discarded());
}

}  // namespace
}  // namespace ebb::test
