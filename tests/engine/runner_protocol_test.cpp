// The runner over its real protocol: a `ebb runner --fd N` child on a socketpair. KV release
// sends snapshots and gives the memory back; a later prompt restores a snapshot and continues
// exactly as a cold run would; parked requests never block the other slots.
#include <gtest/gtest.h>

#include "test_support.h"

namespace ebb::test {
namespace {

constexpr double kMiB = 1048576.0;

json params(uint32_t num_ctx, uint32_t num_parallel = 1, bool flash_attn = false) {
  return {{"path", model_20m()},
          {"num_ctx", num_ctx},
          {"num_parallel", num_parallel},
          {"num_thread", 2},
          {"flash_attn", flash_attn}};
}

const json kGreedy = {{"temperature", 0}, {"num_predict", 16}};

// About 300 tokens of plain text, sent raw (no chat template) so a longer prompt extends it.
std::string long_prompt() {
  std::string text;
  for (int i = 0; text.size() < 1400; ++i)
    text += "The quick brown fox " + std::to_string(i) + " jumps over the lazy dog near the river bank. ";
  return text;
}

json gen(uint64_t id, const std::string& prompt, bool snapshots = false) {
  json m = {{"type", "generate"}, {"id", id}, {"prompt", prompt}, {"raw", true}, {"options", kGreedy}};
  if (snapshots) m["snapshots"] = true;
  return m;
}

// Without flash attention the compute buffer is sized for a full 8192-cell KQ matrix (151 MiB) but
// only the part a ~900-token prompt uses is ever touched, so only KV + that part is resident. With
// flash attention the compute buffer is small (21 MiB) and KV + compute is what gets freed.
class ReleaseAndRestore : public ::testing::TestWithParam<bool> {};

TEST_P(ReleaseAndRestore, SnapshotsFreeMemoryAndRestoreExactly) {
  const bool flash_attn = GetParam();
  RunnerClient r;
  json ready = r.load(params(8192, 2, flash_attn));  // 2 x 8192 cells: 96 MiB of KV
  ASSERT_EQ(ready.value("type", ""), "ready") << ready.dump();
  const uint64_t kv = ready["memory"]["kv"], compute = ready["memory"]["compute"];
  ASSERT_GE(kv, 64u << 20) << "the test needs a KV cache of at least 64 MiB";
  const uint64_t rss_hello = r.hello()["process"]["rss"], rss_ready = ready["process"]["rss"];
  EXPECT_LT(rss_hello, rss_ready);
  // The KV buffer is zeroed lazily: an empty cache costs no resident pages.
  EXPECT_LT(rss_ready - rss_hello, ready["memory"]["weights"].get<uint64_t>() + kv / 4)
      << "RSS " << rss_hello << " -> " << rss_ready << " at load, KV " << kv;

  const std::string prompt = long_prompt();
  std::string text1;
  json done1 = r.generate(gen(1, prompt), &text1);
  ASSERT_EQ(done1.value("done_reason", ""), "length") << done1.dump();
  EXPECT_EQ(done1["restored_tokens"], 0);
  const int prompt_tokens = done1["prompt_eval_count"];
  EXPECT_GE(prompt_tokens, 250);

  r.send({{"type", "stats"}});
  json stats = r.wait_for("stats");
  ASSERT_EQ(stats["slots"].size(), 2u);
  const size_t cached = stats["slots"][0]["cached_tokens"];
  EXPECT_FALSE(stats["slots"][0]["active"].get<bool>());
  EXPECT_GT(cached, static_cast<size_t>(prompt_tokens));
  const uint64_t rss_before = stats["process"]["rss"];

  r.send({{"type", "release_kv"}});
  json snap = r.next_json();
  ASSERT_EQ(snap.value("type", ""), "snapshot") << snap.dump();
  EXPECT_EQ(snap["slot"], 0);
  EXPECT_EQ(snap["n_ctx"], 8192);
  EXPECT_EQ(snap["kv_cache_type"], "f16");
  ASSERT_EQ(snap["tokens"].size(), cached);
  auto blob = r.next();
  ASSERT_TRUE(blob && blob->kind == proto::FrameKind::Shared && blob->blob);
  EXPECT_EQ(blob->blob->size(), snap["bytes"].get<size_t>());
  json released = r.next_json();
  ASSERT_EQ(released.value("type", ""), "kv_released") << released.dump();
  EXPECT_FALSE(released.contains("error"));
  EXPECT_EQ(released["memory"]["kv"], 0);
  EXPECT_EQ(released["memory"]["compute"], 0);
  EXPECT_EQ(released["memory"]["weights"], ready["memory"]["weights"]);
  const uint64_t rss_after = released["process"]["rss"];
  const double drop = double(rss_before) - double(rss_after);
  std::printf(
      "[release] flash_attn %d: kv %.1f MiB + compute %.1f MiB; RSS %.1f -> %.1f MiB (drop %.1f MiB = %.0f%%); "
      "snapshot of %zu tokens: %.2f MiB\n",
      flash_attn, kv / kMiB, compute / kMiB, rss_before / kMiB, rss_after / kMiB, drop / kMiB,
      100 * drop / double(kv + compute), cached, blob->blob->size() / kMiB);
  // KV pages are zeroed lazily (engine/lazy_zero_clear.cpp): only the cells written are resident,
  // here slot 0's `cached` cells of 2 x 8192, and those must come back.
  const double kv_resident = double(kv) * double(cached) / (8192.0 * 2);
  EXPECT_GE(drop, 0.8 * (kv_resident + (flash_attn ? double(compute) : 0.0)));

  // A longer prompt that extends the first conversation: the runner asks for a snapshot.
  const std::string prompt2 = prompt + text1 + " Then the fox went home and slept until morning.";
  r.send(gen(2, prompt2, true));
  json want = r.wait_for("want_snapshot");
  ASSERT_EQ(want["id"], 2);
  const size_t prompt2_tokens = want["tokens"].size();
  r.send({{"type", "restore"}, {"id", 2}, {"found", true}, {"tokens", snap["tokens"]}});
  r.send_shared(*blob->blob);
  std::string text2;
  json done2 = r.wait_for("done", &text2);
  ASSERT_EQ(done2.value("done_reason", ""), "length") << done2.dump();
  const int restored = done2["restored_tokens"], evaluated = done2["prompt_eval_count"];
  EXPECT_GT(restored, prompt_tokens - 2);
  EXPECT_EQ(static_cast<size_t>(restored + evaluated), prompt2_tokens);
  EXPECT_LE(evaluated, 64);

  // A runner that kept its KV resident serves the same turn from its prefix cache: the restored
  // KV must be bit-identical, so the text is too.
  RunnerClient resident;
  resident.load(params(8192, 2, flash_attn));
  std::string ignored, text_resident;
  resident.generate(gen(1, prompt), &ignored);
  json done_resident = resident.generate(gen(2, prompt2), &text_resident);
  EXPECT_EQ(done_resident["prompt_eval_count"], evaluated);
  EXPECT_EQ(text2, text_resident);

  // A fresh runner prefills the whole prompt in one batch. Without flash attention that gives the
  // same text here; with flash attention the batch shape changes the rounding (897 tokens at once
  // versus 868 restored + 29), and a near tie among the last tokens may flip.
  RunnerClient cold;
  cold.load(params(8192, 2, flash_attn));
  std::string text3;
  json done3 = cold.generate(gen(1, prompt2), &text3);
  EXPECT_EQ(done3["prompt_eval_count"].get<size_t>(), prompt2_tokens);
  if (!flash_attn) {
    EXPECT_EQ(text2, text3);
  } else if (text2 != text3) {
    std::printf("[restore] flash_attn: cold text differs: '%s' vs '%s'\n", text2.c_str(), text3.c_str());
  }
  std::printf(
      "[restore] flash_attn %d, %zu-token prompt: restored %d tokens in %.2f ms, prefilled %d in %.1f ms; "
      "cold prefill of %zu tokens %.1f ms\n",
      flash_attn, prompt2_tokens, restored, done2["restore_duration"].get<double>() / 1e6, evaluated,
      done2["prompt_eval_duration"].get<double>() / 1e6, prompt2_tokens,
      done3["prompt_eval_duration"].get<double>() / 1e6);
}

INSTANTIATE_TEST_SUITE_P(RunnerProtocol, ReleaseAndRestore, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "FlashAttn" : "NoFlashAttn"; });

TEST(RunnerProtocol, ParkedRequestsDoNotBlockAndCanBeCancelled) {
  RunnerClient r;
  r.load(params(1024, 2));
  const std::string prompt = long_prompt();

  // Request 1 waits for a snapshot; request 2 runs meanwhile on the other slot.
  r.send(gen(1, prompt, true));
  json want = r.wait_for("want_snapshot");
  EXPECT_EQ(want["id"], 1);
  std::string text;
  json done2 = r.generate(gen(2, "hello there"), &text);
  EXPECT_EQ(done2["id"], 2);

  // While request 1 is parked the model is busy: no KV release.
  r.send({{"type", "release_kv"}});
  json busy = r.wait_for("kv_released");
  EXPECT_EQ(busy.value("error", ""), "busy");

  r.send({{"type", "cancel"}, {"id", 1}});
  json cancelled = r.wait_for("done");
  EXPECT_EQ(cancelled["id"], 1);
  EXPECT_EQ(cancelled["done_reason"], "cancelled");
  // A late answer for the cancelled request is dropped, state frame and all.
  r.send({{"type", "restore"}, {"id", 1}, {"found", true}, {"tokens", {1, 2, 3}}});
  r.send_blob("late state");

  // Not found: prefill as usual.
  r.send(gen(3, prompt, true));
  want = r.wait_for("want_snapshot");
  EXPECT_EQ(want["id"], 3);
  r.send({{"type", "restore"}, {"id", 3}, {"found", false}});
  json done3 = r.wait_for("done");
  EXPECT_EQ(done3["id"], 3);
  EXPECT_EQ(done3["restored_tokens"], 0);
  EXPECT_GE(done3["prompt_eval_count"].get<size_t>() + 1, want["tokens"].size());  // slot 0 may share the BOS

  // A state llama.cpp rejects counts as not found.
  // (At least 16 tokens beyond what the slots hold, or the runner would not ask.)
  r.send(gen(4, prompt + " and then the fox ran again and again across the long field until night came", true));
  want = r.wait_for("want_snapshot");
  r.send({{"type", "restore"}, {"id", 4}, {"found", true}, {"tokens", want["tokens"]}});
  r.send_blob(std::string(4096, '\x01'));
  json done4 = r.wait_for("done");
  EXPECT_EQ(done4["id"], 4);
  EXPECT_EQ(done4["restored_tokens"], 0);
  EXPECT_EQ(done4["done_reason"], "length");

  // A prompt the slots already cover does not ask.
  r.send(gen(5, prompt, true));
  json next = r.next_json();
  while (next.value("type", "") == "token" || next.value("type", "") == "accepted") next = r.next_json();
  EXPECT_EQ(next.value("type", ""), "done") << next.dump();
  EXPECT_LE(next["prompt_eval_count"].get<int>(), 1);
}

// Messages for request `id` until its "done"; its streamed text lands in `text`.
json done_of(RunnerClient& r, uint64_t id, std::string* text) {
  for (;;) {
    json m = r.next_json();
    if (m.empty()) return m;
    if (m.value("id", uint64_t{0}) != id) continue;
    if (m.value("type", "") == "token") *text += m.value("text", "");
    if (m.value("type", "") == "done" || m.value("type", "") == "error") return m;
  }
}

TEST(RunnerProtocol, ABusySlotSharesItsPrefixWithANewRequest) {
  const std::string system = long_prompt();
  const std::string question = " Question: where did the fox go after the river?";
  std::string alone;
  json reference;
  int system_tokens = 0;
  {
    RunnerClient solo;
    solo.load(params(2048, 2));
    reference = solo.generate(gen(2, system + question), &alone);
  }
  {
    RunnerClient count;
    count.load(params(2048, 2));
    std::string ignored;
    system_tokens = count.generate(gen(1, system), &ignored)["prompt_eval_count"];
  }
  ASSERT_GT(system_tokens, 500);
  const int prompt_tokens = reference["prompt_eval_count"];

  RunnerClient r;
  r.load(params(2048, 2));
  json first = gen(1, system + " Story: once upon a time");
  first["options"]["num_predict"] = 1000;  // stays busy for the whole test (and fits: no truncation)
  r.send(first);
  for (json m = r.next_json(); !(m.value("type", "") == "token" && m.value("id", 0) == 1); m = r.next_json())
    ASSERT_FALSE(m.empty() || m.value("type", "") == "done");
  // Request 1 is decoding and its prompt's KV is computed: request 2 copies the shared part.
  r.send(gen(2, system + question));
  std::string text;
  json done = done_of(r, 2, &text);
  ASSERT_EQ(done.value("type", ""), "done") << done.dump();
  const int shared = done["shared_tokens"], evaluated = done["prompt_eval_count"];
  EXPECT_GE(shared, system_tokens - 2) << "the system prompt is shared";  // the last word may tokenize apart
  EXPECT_EQ(shared + evaluated, prompt_tokens);
  EXPECT_EQ(text, alone) << "greedy output with a copied prefix equals a cold run";
  EXPECT_EQ(done["done_reason"], "length");

  // A third request after request 2 freed its slot reuses that slot's own cache instead.
  std::string text3;
  r.send(gen(3, system + question));
  json done3 = done_of(r, 3, &text3);
  EXPECT_EQ(done3["shared_tokens"], 0);
  EXPECT_LE(done3["prompt_eval_count"].get<int>(), 1);
  r.send({{"type", "cancel"}, {"id", 1}});
  std::string ignored;
  EXPECT_EQ(done_of(r, 1, &ignored)["done_reason"], "cancelled");
}

TEST(RunnerProtocol, CreateContextAndStats) {
  RunnerClient r;
  json ready = r.load(params(2048));
  r.send({{"type", "release_kv"}});
  json released = r.wait_for("kv_released");  // nothing cached: no snapshots
  EXPECT_EQ(released["memory"]["kv"], 0);
  r.send({{"type", "stats"}});
  json stats = r.wait_for("stats");
  EXPECT_FALSE(stats["context"].get<bool>());
  r.send({{"type", "create_context"}});
  json again = r.wait_for("ready");
  EXPECT_EQ(again["memory"]["kv"], ready["memory"]["kv"]);
  EXPECT_EQ(again["memory"]["compute"], ready["memory"]["compute"]);
  EXPECT_TRUE(again.contains("process"));
  std::string text;
  json done = r.generate(gen(1, "hello"), &text);
  EXPECT_EQ(done["done_reason"], "length");
}

// An idle runner asked to calibrate runs a tiny model and reports the code pages that touched;
// a loaded runner refuses.
TEST(RunnerProtocol, CalibrateReportsTheCodeOfATinyModel) {
  RunnerClient r;
  r.wait_for("hello");
  r.send({{"type", "calibrate"}});
  json first = r.wait_for("calibrated");
  EXPECT_FALSE(first.contains("error")) << first.dump();
  EXPECT_GT(first.value("code_bytes", uint64_t{0}), 256u << 10);
  EXPECT_LT(first.value("code_bytes", uint64_t{0}), 64u << 20);
  RunnerClient loaded;
  loaded.load(params(1024));
  loaded.send({{"type", "calibrate"}});
  EXPECT_TRUE(loaded.wait_for("calibrated").contains("error"));
}

// Frames the runner cannot use (not JSON, not an object, an unknown or missing type) are logged
// and skipped: nothing answers them and the runner keeps serving. Every control reply carries
// the control message's id.
TEST(RunnerProtocol, OddFramesAreSkippedAndControlRepliesEchoTheirId) {
  RunnerClient r;
  r.wait_for("hello");
  r.send_raw("not json at all");
  r.send_raw("[1, 2, 3]");
  r.send({{"type", "no_such_type"}, {"id", 5}});
  r.send({{"type", 17}, {"id", 6}});
  r.send({{"id", 7}});
  r.send({{"type", "stats"}, {"id", 77}});
  json stats = r.next_json();  // the very next message: the frames before got no answer
  EXPECT_EQ(stats.value("type", ""), "stats") << stats.dump();
  EXPECT_EQ(stats.value("id", uint64_t{0}), 77u);
  r.send({{"type", "release_kv"}, {"id", 78}});
  json released = r.next_json();
  EXPECT_EQ(released.value("type", ""), "kv_released") << released.dump();
  EXPECT_EQ(released.value("id", uint64_t{0}), 78u);
  r.send({{"type", "create_context"}, {"id", 79}});
  json refused = r.next_json();
  EXPECT_EQ(refused.value("type", ""), "load_error") << refused.dump();
  EXPECT_EQ(refused.value("id", uint64_t{0}), 79u);
  r.send({{"type", "init_gpu"}, {"id", 80}});
  json gpu = r.next_json();
  EXPECT_EQ(gpu.value("type", ""), "gpu_ready") << gpu.dump();
  EXPECT_EQ(gpu.value("id", uint64_t{0}), 80u);
  EXPECT_TRUE(gpu.contains("gpus") && gpu.contains("process")) << gpu.dump();
  r.send({{"type", "load"}, {"id", 81}, {"path", "/nonexistent/model.gguf"}});
  json failed = r.next_json();
  EXPECT_EQ(failed.value("type", ""), "load_error") << failed.dump();
  EXPECT_EQ(failed.value("id", uint64_t{0}), 81u);
}

TEST(RunnerProtocol, ShutdownWithSaveSendsSnapshotsThenExits) {
  RunnerClient r;
  r.load(params(1024));
  std::string text;
  r.generate(gen(1, "a short conversation"), &text);
  r.send({{"type", "shutdown"}, {"save", true}});
  json snap = r.next_json();
  EXPECT_EQ(snap.value("type", ""), "snapshot");
  auto blob = r.next();
  ASSERT_TRUE(blob);
  ASSERT_EQ(blob->kind, proto::FrameKind::Shared);
  EXPECT_FALSE(r.next(std::chrono::seconds(10)).has_value());  // EOF: the runner exited
  // The snapshot's memory outlives the runner that wrote it.
  EXPECT_EQ(blob->blob->view().size(), snap["bytes"].get<size_t>());
}

}  // namespace
}  // namespace ebb::test
