// The memory manager with real runners: real bytes freed, real processes gone, real budgets.
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "../common/sanitizers.h"
#include "common/process_memory.h"
#include "serve_fixture.h"

namespace ebb::test {
namespace {

const json kGreedy = {{"temperature", 0}, {"num_predict", 4}};

json ps_entry(const Server& s, const std::string& name) {
  json ps = s.get("/api/ps");
  for (const auto& m : ps["models"])
    if (m["name"] == name) return m;
  return json();
}

json memory_model(const Server& s, const std::string& name) {
  json mem = s.get("/api/memory");
  for (const auto& m : mem["devices"][0]["models"])
    if (m["name"] == name) return m;
  return json();
}

std::string tier_of(const Server& s, const std::string& name) {
  auto e = ps_entry(s, name);
  if (!e.is_null()) return e["tier"];
  json mem = s.get("/api/memory");
  for (const auto& m : mem["host"]["models"])
    if (m["name"] == name) return m["tier"];
  return "cold";
}

void generate(const Server& s, const std::string& model, json options = kGreedy, json extra = json::object()) {
  json body = {{"model", model}, {"prompt", "hello memory"}, {"options", options}, {"stream", false}};
  body.update(extra);
  auto [status, text] = s.post("/api/generate", body);
  ASSERT_EQ(status, 200) << text;
}

// A model with a 16k context, so that its KV cache is large (≥ 64 MiB).
const fs::path& kv_models() {
  static fs::path dir = [] {
    fs::path d = scratch_dir("ebb-test-kv");
    run_capture(std::string(EBB_BIN) + " synth --out " + (d / "kvbig.gguf").string() +
                " --params 20M --ctx 16384 >/dev/null");
    for (const char* n : {"a", "b", "c", "d"})
      run_capture(std::string(EBB_BIN) + " synth --out " + (d / (std::string(n) + ".gguf")).string() +
                  " --params 20M --seed 3 >/dev/null");
    return d;
  }();
  return dir;
}

TEST(Memory, ReleaseKvReturnsTheBytesToTheOs) {
  EBB_SKIP_RSS_CHECKS_UNDER_SANITIZERS();
  Server s({"--device-memory", "4GiB"}, kv_models());
  // A prompt longer than one batch, so that the compute buffer is used in full.
  std::string long_prompt;
  for (int i = 0; i < 300; ++i) long_prompt += "memory pages " + std::to_string(i) + " ";
  json body = {{"model", "kvbig"},
               {"prompt", long_prompt},
               {"stream", false},
               {"options", {{"num_ctx", 16384}, {"num_predict", 4}, {"temperature", 0}}}};
  auto [gen_status, gen_text] = s.post("/api/generate", body);
  ASSERT_EQ(gen_status, 200) << gen_text;
  auto gen = json::parse(gen_text);
  const uint64_t cells = gen["prompt_eval_count"].get<uint64_t>() + gen["eval_count"].get<uint64_t>();
  auto before = ps_entry(s, "kvbig");
  ASSERT_EQ(before["tier"], "ready");
  uint64_t kv = before["kv_bytes"], compute = before["compute_bytes"];
  ASSERT_GE(kv, 64ull << 20);
  pid_t runner = before["runner_pid"];
  uint64_t rss_before = read_process_memory(runner).rss;

  auto [status, text] = s.post("/api/models/release-kv", {{"model", "kvbig"}});
  ASSERT_EQ(status, 200) << text;
  auto after = json::parse(text);
  EXPECT_EQ(after["tier"], "warm");
  EXPECT_EQ(after["kv_bytes"], 0);
  EXPECT_TRUE(process_alive(runner));
  uint64_t rss_after = read_process_memory(runner).rss;
  ASSERT_LT(rss_after, rss_before);
  // KV pages are zeroed lazily (engine/lazy_zero_clear.cpp), so only the cells written were
  // resident, as was the part of the compute buffer a step touched. All of it comes back: the
  // runner is down to its weights and its measured baseline.
  const uint64_t kv_resident = kv * cells / 16384;
  const uint64_t weights = before["weights_bytes"], baseline = before["baseline_bytes"];
  std::printf("[release-kv] rss %.1f -> %.1f MiB; weights %.1f, baseline %.1f, KV written %.1f, compute %.1f MiB\n",
              rss_before / 1048576.0, rss_after / 1048576.0, weights / 1048576.0, baseline / 1048576.0,
              kv_resident / 1048576.0, compute / 1048576.0);
  EXPECT_GE(rss_before - rss_after, kv_resident * 8 / 10);
  EXPECT_LE(rss_after, weights + baseline + kv_resident / 2)
      << "rss " << rss_before << " -> " << rss_after << ", weights " << weights << ", baseline " << baseline << ", kv "
      << kv << " (" << cells << " cells written: " << kv_resident << "), compute " << compute;
  // The accounting follows: the device's used bytes no longer include the KV.
  auto mem = memory_model(s, "kvbig");
  EXPECT_EQ(mem["kv_bytes"], 0);
  // And the model still answers (context recreated).
  generate(s, "kvbig", {{"num_ctx", 16384}, {"num_predict", 4}, {"temperature", 0}});
  EXPECT_EQ(ps_entry(s, "kvbig")["tier"], "ready");
}

// A client that has read a streamed answer's last line may act on the model at once: the request
// no longer counts as in flight (the lease goes before that line, not after the response).
TEST(Memory, ModelIsIdleOnceTheLastStreamedLineIsRead) {
  Server s({"--device-memory", "4GiB"}, kv_models());
  for (int round = 0; round < 20; ++round) {
    int fd = send_generate_raw(s.port(), {{"model", "a"}, {"prompt", "hello"}, {"options", kGreedy}});
    ASSERT_GE(fd, 0);
    // The release-kv request waits on its own connection, all but its last byte sent, so that it
    // reaches the server the moment the last line has been read.
    RawRequest release(s.port(), "/api/models/release-kv", json{{"model", "a"}}.dump());
    std::string got;
    ASSERT_TRUE(read_until(fd, got, "\"done\":true")) << got;
    auto [status, text] = release.finish();
    ::close(fd);
    ASSERT_EQ(status, 200) << "round " << round << ": " << text;
  }
}

TEST(Memory, UnloadEndsTheProcessAndLocksTheFileInHostRam) {
  Server s({"--device-memory", "4GiB"}, kv_models());
  generate(s, "a");
  pid_t runner = ps_entry(s, "a")["runner_pid"];
  auto [status, text] = s.post("/api/models/unload", {{"model", "a"}});
  ASSERT_EQ(status, 200) << text;
  EXPECT_EQ(json::parse(text)["tier"], "host");
  EXPECT_TRUE(wait_until([&] { return !process_alive(runner); }));
  EXPECT_TRUE(ps_entry(s, "a").is_null()) << "a host-tier model holds no device bytes";
  auto mem = s.get("/api/memory");
  EXPECT_EQ(mem["devices"][0]["used"], 0);
  EXPECT_GT(mem["host"]["locked"].get<uint64_t>(), 0u);
  // Demotion to cold releases the locked bytes.
  auto [cs, ctext] = s.post("/api/models/unload", {{"model", "a"}, {"tier", "cold"}});
  ASSERT_EQ(cs, 200) << ctext;
  EXPECT_EQ(s.get("/api/memory")["host"]["locked"], 0);
  EXPECT_EQ(tier_of(s, "a"), "cold");
}

TEST(Memory, KeepAliveZeroUnloadsRightAfterTheRequest) {
  Server s({"--device-memory", "4GiB"}, kv_models());
  generate(s, "b", kGreedy, {{"keep_alive", 0}});
  EXPECT_TRUE(wait_until([&] { return tier_of(s, "b") == "host"; }));
  // The bytes leave the ledger when the runner has exited.
  EXPECT_TRUE(wait_until([&] { return s.get("/api/memory")["devices"][0]["used"] == 0; }));
}

TEST(Memory, FourthModelEvictsTheLeastRecentlyUsed) {
  json small = {{"num_ctx", 256}, {"num_predict", 2}, {"temperature", 0}};
  uint64_t one = 0, kv_and_compute = 0;
  {
    Server probe({"--device-memory", "8GiB"}, kv_models());
    generate(probe, "a", small);
    auto e = ps_entry(probe, "a");
    one = e["estimated_bytes"];
    kv_and_compute = e["kv_bytes"].get<uint64_t>() + e["compute_bytes"].get<uint64_t>();
  }
  ASSERT_GT(one, 3 * kv_and_compute) << "releasing KV alone must not be enough for this test";
  // Three models fill the budget; what is left plus all three KV caches is still short of a
  // fourth model, so one idle model must leave the device: the least recently used one.
  uint64_t spare = (one - 3 * kv_and_compute) / 2;
  Server s({"--device-memory", std::to_string(3 * one + spare), "--headroom", "0"}, kv_models());
  for (const char* m : {"a", "b", "c"}) generate(s, m, small);
  const int64_t est_a = ps_entry(s, "a")["estimated_bytes"];
  for (const char* m : {"b", "c"})  // the same size to the planner: within a MiB (pages of measured heap)
    ASSERT_LT(std::abs(ps_entry(s, m)["estimated_bytes"].get<int64_t>() - est_a), int64_t{1} << 20) << m;
  generate(s, "a", small);  // a is now more recently used than b
  generate(s, "d", small);
  EXPECT_EQ(tier_of(s, "b"), "host") << "the least recently used idle model is demoted";
  EXPECT_EQ(tier_of(s, "a"), "ready");
  EXPECT_EQ(tier_of(s, "c"), "ready");
  EXPECT_EQ(tier_of(s, "d"), "ready");
  json mem = s.get("/api/memory");
  EXPECT_LE(mem["devices"][0]["used"].get<uint64_t>(), mem["devices"][0]["budget"].get<uint64_t>());
}

// On host RAM a footprint holds what an idle runner's baseline lacks: the model's own heap
// (vocabulary, metadata; from the dry run) and the code pages that loading and computing touch,
// measured at start on a tiny model, so the first load has them too, and counted once.
TEST(Memory, FootprintsHoldTheModelsHeapAndTheRunnersCodePages) {
  json small = {{"num_ctx", 256}, {"num_predict", 2}, {"temperature", 0}};
  Server s({"--device-memory", "8GiB"}, kv_models());
  generate(s, "a", small);
  json a = ps_entry(s, "a");
  EXPECT_GT(a["heap_bytes"].get<uint64_t>(), 256u << 10);
  EXPECT_EQ(memory_model(s, "a")["heap_bytes"], a["heap_bytes"]);
  EXPECT_GT(a["baseline_bytes"].get<uint64_t>(), 8u << 20);
  generate(s, "b", small);
  json b = ps_entry(s, "b");
  EXPECT_EQ(b["baseline_bytes"], a["baseline_bytes"]);
  EXPECT_EQ(b["estimated_bytes"].get<uint64_t>(),
            b["weights_bytes"].get<uint64_t>() + b["kv_bytes"].get<uint64_t>() + b["compute_bytes"].get<uint64_t>() +
                b["baseline_bytes"].get<uint64_t>() + b["heap_bytes"].get<uint64_t>());
}

TEST(Memory, PinnedModelsAreNeverEvictedAnd503SaysWhy) {
  uint64_t one = 0;
  {
    Server probe({"--device-memory", "8GiB"}, kv_models());
    generate(probe, "a", {{"num_ctx", 512}, {"num_predict", 2}, {"temperature", 0}});
    one = ps_entry(probe, "a")["estimated_bytes"];
  }
  Server s({"--device-memory", std::to_string(one * 3 / 2), "--headroom", "0"}, kv_models());
  json small = {{"num_ctx", 512}, {"num_predict", 2}, {"temperature", 0}};
  generate(s, "a", small);
  ASSERT_EQ(s.post("/api/models/pin", {{"model", "a"}}).first, 200);
  auto [status, text] =
      s.post("/api/generate", {{"model", "b"}, {"prompt", "x"}, {"stream", false}, {"options", small}});
  EXPECT_EQ(status, 503);
  std::string err = json::parse(text)["error"];
  EXPECT_NE(err.find("needs"), std::string::npos) << err;
  EXPECT_NE(err.find("pinned: a"), std::string::npos) << err;
  EXPECT_EQ(tier_of(s, "a"), "ready");
  // Unpinned, it gives way.
  ASSERT_EQ(s.post("/api/models/pin", {{"model", "a"}, {"pinned", false}}).first, 200);
  generate(s, "b", small);
  EXPECT_EQ(tier_of(s, "a"), "host");
}

TEST(Memory, RequestsWaitForBusyModelsInABoundedQueue) {
  const json big = {{"num_ctx", 8192}, {"num_predict", 2}, {"temperature", 0}};
  uint64_t one = 0;
  {
    Server probe({"--device-memory", "8GiB"}, kv_models());
    generate(probe, "a", big);
    one = ps_entry(probe, "a")["estimated_bytes"];
  }
  // "c" must be measured (a dry run in a child process) while "b" still waits: seconds for an
  // instrumented binary, so the queue waits longer under sanitizers.
  const std::string queue_timeout = ebb::test::kSanitized ? "20s" : "2s";
  fs::path cfg = write_temp_file("[memory]\nqueue_timeout = \"" + queue_timeout + "\"\nqueue_capacity = 1\n");
  Server s({"--config", cfg.string(), "--device-memory", std::to_string(one * 3 / 2), "--headroom", "0"}, kv_models());

  // "a" stays busy: an endless stream (num_predict -1 fills 8192 cells) until the client leaves.
  int stream = send_generate_raw(
      s.port(), {{"model", "a"}, {"prompt", "x"}, {"options", {{"num_ctx", 8192}, {"num_predict", -1}}}});
  ASSERT_GE(stream, 0);
  ASSERT_TRUE(read_first_chunk(stream));

  // "b" needs a's bytes: it waits in the queue, the only place there is.
  std::pair<int, std::string> waited;
  std::thread waiter([&] {
    waited = s.post("/api/generate", {{"model", "b"}, {"prompt", "x"}, {"stream", false}, {"options", big}});
  });
  EXPECT_TRUE(wait_until(
      [&] { return s.get("/api/memory").value("waiting_requests", 0) == 1; }));  // no ASSERT: the thread must be joined
  // The queue is full: "c" is refused at once.
  auto [full_status, full_text] =
      s.post("/api/generate", {{"model", "c"}, {"prompt", "x"}, {"stream", false}, {"options", big}});
  EXPECT_EQ(full_status, 503);
  EXPECT_NE(full_text.find("too many requests waiting"), std::string::npos) << full_text;
  // "b" gives up after queue_timeout, with the reason.
  waiter.join();
  EXPECT_EQ(waited.first, 503);
  EXPECT_NE(waited.second.find("timed out"), std::string::npos) << waited.second;
  EXPECT_NE(waited.second.find("busy: a"), std::string::npos) << waited.second;
  EXPECT_EQ(tier_of(s, "a"), "ready");

  // Once "a" is free, "b" takes its place.
  ::close(stream);
  EXPECT_TRUE(wait_until([&] { return s.get("/api/memory").value("waiting_requests", 1) == 0; }));
  generate(s, "b", big);
  EXPECT_NE(tier_of(s, "a"), "ready") << "a gave way (its KV at least)";
}

TEST(Memory, ConcurrentRequestsNeverExceedTheBudget) {
  uint64_t one = 0;
  {
    Server probe({"--device-memory", "8GiB"}, kv_models());
    generate(probe, "a", {{"num_ctx", 512}, {"num_predict", 2}, {"temperature", 0}});
    one = ps_entry(probe, "a")["estimated_bytes"];
  }
  uint64_t total = one * 5 / 2;
  Server s({"--device-memory", std::to_string(total), "--headroom", "0"}, kv_models());
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, unavailable{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&, i] {
      const char* models[] = {"a", "b", "c", "d"};
      for (int k = 0; !done; ++k) {
        auto [status, text] = s.post("/api/generate", {{"model", models[(i + k) % 4]},
                                                       {"prompt", "x"},
                                                       {"stream", false},
                                                       {"options", {{"num_ctx", 512}, {"num_predict", 2}}}});
        (status == 200 ? ok : status == 503 ? unavailable : other)++;
      }
    });
  }
  uint64_t max_used = 0, max_measured = 0;
  // Samples until the clients have been through enough loads and evictions (not for a fixed
  // time, which a slow machine, or a sanitizer build, may spend on a handful of requests).
  constexpr int kRequests = 16;
  wait_until(
      [&] {
        auto dev = s.get("/api/memory")["devices"][0];
        uint64_t used = dev["used"], budget = dev["budget"], measured = dev["measured_used"];
        EXPECT_LE(used, budget);
        max_used = std::max(max_used, used);
        max_measured = std::max(max_measured, measured);
        return ok + unavailable + other >= kRequests && ok > 4 && max_used > one;
      },
      std::chrono::seconds(120));
  done = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(ok.load(), 4);
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(max_used, one) << "more than one model was loaded at some point";
  // Measured RSS of all runners stays within the budget too (5% slack for page-cache timing);
  // not under ASan, whose shadow memory and quarantine add to every runner's RSS.
  if (!kSanitized) {
    EXPECT_LE(max_measured, total + total / 20) << "accounted max " << max_used;
  }
}

TEST(Memory, SmallerContextReusesLargerReloads) {
  Server s({"--device-memory", "4GiB"}, kv_models());
  generate(s, "a", {{"num_ctx", 4096}, {"num_predict", 2}});
  pid_t first = ps_entry(s, "a")["runner_pid"];
  generate(s, "a", {{"num_ctx", 1024}, {"num_predict", 2}});
  EXPECT_EQ(ps_entry(s, "a")["runner_pid"].get<pid_t>(), first) << "a smaller num_ctx reuses the loaded model";
  EXPECT_EQ(ps_entry(s, "a")["context_length"], 4096);
  generate(s, "a", {{"num_ctx", 8192}, {"num_predict", 2}});
  auto e = ps_entry(s, "a");
  EXPECT_NE(e["runner_pid"].get<pid_t>(), first) << "a larger num_ctx reloads";
  EXPECT_EQ(e["context_length"], 8192);
}

TEST(Memory, AdminLoadPreloadsAndReportsTheEntry) {
  Server s({"--device-memory", "4GiB"}, kv_models());
  auto [status, text] = s.post("/api/models/load", {{"model", "c"}});
  ASSERT_EQ(status, 200) << text;
  auto e = json::parse(text);
  EXPECT_EQ(e["tier"], "ready");
  for (const char* k : {"weights_bytes", "kv_bytes", "compute_bytes", "estimated_bytes", "actual_bytes"})
    EXPECT_GT(e[k].get<uint64_t>(), 0u) << k;
  EXPECT_EQ(s.post("/api/models/load", {{"model", "nope"}}).first, 404);
  EXPECT_EQ(s.post("/api/models/unload", {{"model", "c"}, {"tier", "sideways"}}).first, 400);
  // An empty /api/generate preloads as in Ollama; with keep_alive 0 it unloads.
  auto [gs, gtext] = s.post("/api/generate", {{"model", "d"}});
  ASSERT_EQ(gs, 200) << gtext;
  EXPECT_EQ(json::parse(gtext)["done_reason"], "load");
  EXPECT_EQ(tier_of(s, "d"), "ready");
  auto [us, utext] = s.post("/api/generate", {{"model", "d"}, {"keep_alive", 0}});
  ASSERT_EQ(us, 200) << utext;
  EXPECT_EQ(json::parse(utext)["done_reason"], "unload");
  EXPECT_TRUE(wait_until([&] { return tier_of(s, "d") == "host"; }));
}

TEST(Memory, KilledRunnerFreesItsBytesAtOnce) {
  Server s({"--device-memory", "4GiB"}, kv_models());
  generate(s, "c");
  pid_t runner = ps_entry(s, "c")["runner_pid"];
  ASSERT_GT(s.get("/api/memory")["devices"][0]["used"].get<uint64_t>(), 0u);
  ::kill(runner, SIGKILL);
  EXPECT_TRUE(wait_until([&] { return s.get("/api/memory")["devices"][0]["used"] == 0; }));
  generate(s, "c");
  EXPECT_EQ(ps_entry(s, "c")["tier"], "ready");
}

TEST(Memory, TimersReleaseKvThenUnload) {
  auto cfg = write_temp_file("[memory]\nkv_idle = \"1s\"\nkeep_alive = \"3s\"\n");
  Server s({"--device-memory", "4GiB", "--config", cfg.string()}, kv_models());
  generate(s, "a");
  EXPECT_EQ(tier_of(s, "a"), "ready");
  EXPECT_FALSE(ps_entry(s, "a")["kv_release_at"].get<std::string>().empty());
  EXPECT_TRUE(wait_until([&] { return tier_of(s, "a") == "warm"; }, std::chrono::seconds(3)));
  EXPECT_TRUE(wait_until([&] { return tier_of(s, "a") == "host"; }, std::chrono::seconds(5)));
  fs::remove(cfg);
}

TEST(Memory, OnDemandPolicyDemotesAfterEachRequest) {
  auto cfg = write_temp_file("[[model]]\nname = \"od\"\npath = \"" + (kv_models() / "a.gguf").string() +
                             "\"\npolicy = \"on_demand\"\n");
  Server s({"--device-memory", "4GiB", "--config", cfg.string()}, kv_models());
  generate(s, "od");
  EXPECT_TRUE(wait_until([&] { return tier_of(s, "od") == "host"; }));
  generate(s, "od");  // wakes from the host tier
  EXPECT_TRUE(wait_until([&] { return tier_of(s, "od") == "host"; }));
  fs::remove(cfg);
}

TEST(Memory, ResidentSetThatDoesNotFitFailsStartup) {
  auto cfg = write_temp_file("[[model]]\nname = \"r1\"\npath = \"" + (kv_models() / "a.gguf").string() +
                             "\"\npolicy = \"resident\"\n[[model]]\nname = \"r2\"\npath = \"" +
                             (kv_models() / "b.gguf").string() + "\"\npolicy = \"resident\"\n");
  std::string out = run_capture_status(
      std::string(EBB_BIN) + " serve --host 127.0.0.1:0 --device-memory 64MiB --config " + cfg.string() + " 2>&1");
  EXPECT_NE(out.find("resident"), std::string::npos) << out;
  EXPECT_NE(out.find("MiB"), std::string::npos) << out;
  fs::remove(cfg);
}

TEST(Memory, ResidentModelIsPreloadedAndNeverDemoted) {
  auto cfg = write_temp_file("[memory]\nkv_idle = \"1s\"\nkeep_alive = \"1s\"\n[[model]]\nname = \"res\"\npath = \"" +
                             (kv_models() / "a.gguf").string() + "\"\npolicy = \"resident\"\n");
  Server s({"--device-memory", "4GiB", "--config", cfg.string()}, kv_models());
  EXPECT_EQ(tier_of(s, "res"), "ready") << "preloaded at startup";
  generate(s, "res");
  // b has the same timers, started later: once they have moved b to the host tier, res's are past.
  generate(s, "b");
  ASSERT_TRUE(wait_until([&] { return tier_of(s, "b") == "host"; })) << "b's kv_idle and keep_alive";
  EXPECT_EQ(tier_of(s, "res"), "ready");
  EXPECT_EQ(s.post("/api/models/unload", {{"model", "res"}}).first, 409);
  fs::remove(cfg);
}

// A chat's second turn after the model's KV was released (or the runner restarted) restores the
// first turn from a snapshot and prefills only the new part.
class FollowUp : public ::testing::Test {
 protected:
  static json chat(const Server& s, const json& messages) {
    auto [status, text] = s.post("/api/chat", {{"model", "a"},
                                               {"messages", messages},
                                               {"stream", false},
                                               {"options", {{"temperature", 0}, {"num_predict", 8}}}});
    EXPECT_EQ(status, 200) << text;
    return json::parse(text);
  }
  static json first_turn() {
    std::string text;
    for (int i = 0; i < 120; ++i) text += "page " + std::to_string(i) + " of the long story. ";
    return json::array({{{"role", "user"}, {"content", text}}});
  }
  // Runs turn one, then `between`, then turn two; returns turn two's final object.
  static json second_turn_after(const Server& s, const std::function<void()>& between) {
    json msgs = first_turn();
    json one = chat(s, msgs);
    msgs.push_back({{"role", "assistant"}, {"content", one["message"]["content"]}});
    msgs.push_back({{"role", "user"}, {"content", "And then?"}});
    between();
    return chat(s, msgs);
  }
};

TEST_F(FollowUp, AfterKvReleaseOnlyTheNewTurnIsPrefilled) {
  // Turn two sent to a server that never saw turn one prefills everything.
  int everything = 0;
  {
    Server fresh({"--device-memory", "4GiB"}, kv_models());
    json msgs = first_turn();
    json one = chat(fresh, msgs);  // greedy: the same reply on every server
    msgs.push_back({{"role", "assistant"}, {"content", one["message"]["content"]}});
    msgs.push_back({{"role", "user"}, {"content", "And then?"}});
    Server other({"--device-memory", "4GiB"}, kv_models());
    everything = chat(other, msgs)["prompt_eval_count"];
  }
  ASSERT_GT(everything, 400);

  Server s({"--device-memory", "4GiB"}, kv_models());
  json two = second_turn_after(s, [&] {
    auto [status, text] = s.post("/api/models/release-kv", {{"model", "a"}});
    ASSERT_EQ(status, 200) << text;
    ASSERT_EQ(json::parse(text)["tier"], "warm");
  });
  EXPECT_LT(two["prompt_eval_count"].get<int>(), everything / 4)
      << "restored from the snapshot instead of prefilling " << everything << " tokens";
  EXPECT_GT(s.get("/api/memory")["snapshots"]["count"].get<int>(), 0);
}

TEST_F(FollowUp, AfterUnloadTheRestartedRunnerRestoresTheSnapshot) {
  Server s({"--device-memory", "4GiB"}, kv_models());
  pid_t first_runner = 0;
  json two = second_turn_after(s, [&] {
    first_runner = ps_entry(s, "a")["runner_pid"];
    ASSERT_EQ(s.post("/api/models/unload", {{"model", "a"}}).first, 200);
    ASSERT_TRUE(wait_until([&] { return !process_alive(first_runner); }));
  });
  EXPECT_NE(ps_entry(s, "a")["runner_pid"].get<pid_t>(), first_runner);
  EXPECT_LT(two["prompt_eval_count"].get<int>(), 100);
}

// One slot, two users: the second user's request saves the first user's conversation before it
// takes the slot, and the first user's next turn restores it instead of prefilling it all again.
TEST_F(FollowUp, AnotherUsersRequestKeepsTheFirstConversationCached) {
  Server s({"--device-memory", "4GiB"}, kv_models());
  json two = second_turn_after(s, [&] {
    std::string other;
    for (int i = 0; i < 60; ++i) other += "another topic " + std::to_string(i) + ". ";
    json reply = chat(s, json::array({{{"role", "user"}, {"content", other}}}));
    EXPECT_GT(reply["prompt_eval_count"].get<int>(), 100) << "the other user's prompt was new";
    EXPECT_GE(s.get("/api/memory")["snapshots"]["count"].get<int>(), 1) << "the first conversation was saved";
    EXPECT_EQ(ps_entry(s, "a")["tier"], "ready");
  });
  EXPECT_LT(two["prompt_eval_count"].get<int>(), 100) << "restored from the prompt cache";
  // The same conversation going on in its slot saves nothing more.
  int before = s.get("/api/memory")["snapshots"]["count"];
  json msgs = first_turn();
  msgs.push_back({{"role", "assistant"}, {"content", "Then the story went on."}});
  msgs.push_back({{"role", "user"}, {"content", "And after that, what happened to everyone in the story?"}});
  chat(s, msgs);
  EXPECT_EQ(s.get("/api/memory")["snapshots"]["count"].get<int>(), before);
}

// --kv-disk: snapshots the RAM cache cannot keep go to disk, and all of them are written at
// shutdown, so a conversation continues after ebb serve restarts.
TEST_F(FollowUp, KvDiskKeepsSnapshotsAcrossARestart) {
  fs::path disk = scratch_dir("ebb-test-kv-disk");
  std::ofstream(disk / "garbage.ebbkv") << "not a snapshot";  // ignored, with a warning
  json msgs = first_turn();
  {
    Server s({"--device-memory", "4GiB", "--kv-disk", disk.string()}, kv_models());
    json one = chat(s, msgs);
    msgs.push_back({{"role", "assistant"}, {"content", one["message"]["content"]}});
    msgs.push_back({{"role", "user"}, {"content", "And then?"}});
    EXPECT_EQ(s.get("/api/memory")["snapshots"]["disk"]["count"], 0);
  }  // SIGTERM: the runner saves its slot, the supervisor writes it out
  size_t files = 0;
  for (const auto& f : fs::directory_iterator(disk)) files += f.path().extension() == ".ebbkv";
  EXPECT_EQ(files, 2u) << "the snapshot, next to the garbage";

  Server again({"--device-memory", "4GiB", "--kv-disk", disk.string()}, kv_models());
  EXPECT_EQ(again.get("/api/memory")["snapshots"]["disk"]["count"], 1);
  json two = chat(again, msgs);
  EXPECT_LT(two["prompt_eval_count"].get<int>(), 100) << "restored from disk after the restart";
}

TEST_F(FollowUp, KvDiskTakesWhatTheRamCacheCannotHold) {
  fs::path disk = scratch_dir("ebb-test-kv-spill");
  fs::path cfg = write_temp_file("[memory]\nsnapshot_budget = \"64KiB\"\n");  // no snapshot fits in RAM
  Server s({"--config", cfg.string(), "--device-memory", "4GiB", "--kv-disk", disk.string()}, kv_models());
  json two = second_turn_after(s, [&] {
    ASSERT_EQ(s.post("/api/models/release-kv", {{"model", "a"}}).first, 200);
    auto snaps = s.get("/api/memory")["snapshots"];
    EXPECT_EQ(snaps["count"], 0);
    EXPECT_TRUE(wait_until([&] { return s.get("/api/memory")["snapshots"]["disk"]["count"] == 1; }));
  });
  EXPECT_LT(two["prompt_eval_count"].get<int>(), 100) << "restored from the disk copy";
  fs::remove(cfg);
}

}  // namespace
}  // namespace ebb::test
