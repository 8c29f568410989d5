// `ebb runner --measure` (a no_alloc dry run) reports exactly what a real load reports in "ready",
// and `ebb runner --devices` lists at least the CPU.
#include <gtest/gtest.h>

#include <tuple>

#include "engine/engine.h"
#include "test_support.h"

namespace ebb::test {
namespace {

json measure(const json& params, int* rc) {
  std::string out = run_capture(std::string(EBB_BIN) + " runner --measure --params '" + params.dump() + "'", rc);
  return json::parse(out, nullptr, false);
}

// q4_0 adds a CPU_REPACK buffer (repacked weights, allocated) next to the mmapped ones.
TEST(Measure, DryRunEqualsRealLoad) {
  for (auto [quant, num_ctx, num_parallel] :
       {std::tuple{"q8_0", 1024u, 1u}, std::tuple{"q8_0", 1024u, 2u}, std::tuple{"q8_0", 8192u, 1u},
        std::tuple{"q8_0", 8192u, 2u}, std::tuple{"q4_0", 2048u, 2u}}) {
    {
      SCOPED_TRACE(std::string(quant) + " num_ctx " + std::to_string(num_ctx) + " num_parallel " +
                   std::to_string(num_parallel));
      json params = {
          {"path", model_20m(quant)}, {"num_ctx", num_ctx}, {"num_parallel", num_parallel}, {"num_thread", 2}};
      int rc = -1;
      json dry = measure(params, &rc);
      ASSERT_EQ(rc, 0) << dry.dump();
      ASSERT_TRUE(dry.is_object());

      RunnerClient runner;
      json ready = runner.load(params);
      ASSERT_EQ(ready.value("type", ""), "ready") << ready.dump();
      const json& real = ready["memory"];
      EXPECT_EQ(dry["weights"], real["weights"]);
      EXPECT_EQ(dry["kv"], real["kv"]);
      EXPECT_EQ(dry["compute"], real["compute"]);
      EXPECT_EQ(dry["buffers"], real["buffers"]);
      EXPECT_EQ(dry["n_ctx"], ready["num_ctx"]);
      EXPECT_EQ(dry["num_parallel"], num_parallel);
      EXPECT_GT(dry["kv"].get<uint64_t>(), 0u);
      // The dry run measures the host structures beside the buffers (vocabulary, metadata); a real
      // load cannot tell them from its buffers and leaves them out.
      EXPECT_GT(dry.value("heap", uint64_t{0}), 256u << 10);
      EXPECT_LT(dry.value("heap", uint64_t{0}), 32u << 20);
      EXPECT_FALSE(real.contains("heap"));
      std::printf("[measure] %s: %s\n", quant, dry["buffers"].dump().c_str());
      std::printf("[measure] ctx %u x %u: weights %.1f MiB, kv %.1f MiB, compute %.1f MiB, dry run %.0f ms\n", num_ctx,
                  num_parallel, dry["weights"].get<double>() / 1048576, dry["kv"].get<double>() / 1048576,
                  dry["compute"].get<double>() / 1048576, dry["ms"].get<double>());
    }
  }
}

TEST(Measure, CapsContextAtTheTrainedLength) {
  int rc = -1;
  json dry = measure({{"path", model_20m()}, {"num_ctx", 1 << 20}}, &rc);
  ASSERT_EQ(rc, 0) << dry.dump();
  EXPECT_EQ(dry["n_ctx"], 8192);
}

TEST(Measure, ErrorsAreJson) {
  int rc = 0;
  json bad = measure({{"path", "/nonexistent.gguf"}}, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(bad.contains("error")) << bad.dump();
  json no_path = measure(json::object(), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(no_path.contains("error"));
  json bad_kv = measure({{"path", model_20m()}, {"kv_cache_type", "q9"}}, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(bad_kv.value("error", "").find("kv cache type"), std::string::npos) << bad_kv.dump();
}

TEST(Devices, ListsTheCpu) {
  int rc = -1;
  json out = json::parse(run_capture(std::string(EBB_BIN) + " runner --devices", &rc), nullptr, false);
  ASSERT_EQ(rc, 0);
  ASSERT_TRUE(out["devices"].is_array()) << out.dump();
  bool cpu = false;
  for (const auto& d : out["devices"]) {
    for (const char* k : {"id", "name", "description", "type", "total", "free"}) EXPECT_TRUE(d.contains(k)) << k;
    if (d["type"] == "cpu") {
      cpu = true;
      EXPECT_GT(d["total"].get<uint64_t>(), 0u);
      EXPECT_LE(d["free"].get<uint64_t>(), d["total"].get<uint64_t>());
    }
  }
  EXPECT_TRUE(cpu) << out.dump();
}

}  // namespace
}  // namespace ebb::test
