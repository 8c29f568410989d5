// device_share: which bytes of a runner's memory report count against the device. Pure logic.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "supervisor/footprint_probe.h"

namespace {

using ebb::supervisor::device_share;
using json = nlohmann::json;

// A GPU load as llama.cpp reports it: weights on the GPU and mapped from the file there, token
// embeddings in host memory, the pinned output buffer on the host.
const json kGpuReport = {
    {"weights", 1000},
    {"kv", 300},
    {"compute", 80},
    {"heap", 6},
    {"buffers", json::array({{{"buffer", "CUDA0"}, {"weights", 900}, {"kv", 300}, {"compute", 70}},
                             {{"buffer", "CPU_Mapped"}, {"weights", 100}, {"kv", 0}, {"compute", 0}},
                             {{"buffer", "CUDA_Host"}, {"weights", 0}, {"kv", 0}, {"compute", 10}}})}};

TEST(DeviceShare, OnTheCpuDeviceEverythingCounts) {
  auto fp = device_share(kGpuReport, "");
  EXPECT_EQ(fp.device, "CPU");
  EXPECT_EQ(fp.weights, 1000u);
  EXPECT_EQ(fp.kv, 300u);
  EXPECT_EQ(fp.compute, 80u);
  EXPECT_EQ(fp.heap, 6u);  // the vocabulary and metadata live in host RAM, the device here
  EXPECT_EQ(fp.total(), 1000u + 300u + 80u + 6u);
}

TEST(DeviceShare, OnAGpuOnlyItsOwnBuffersCount) {
  auto fp = device_share(kGpuReport, "CUDA0");
  EXPECT_EQ(fp.device, "CUDA0");
  EXPECT_EQ(fp.weights, 900u);
  EXPECT_EQ(fp.kv, 300u);
  EXPECT_EQ(fp.compute, 70u);
  EXPECT_EQ(fp.heap, 0u);  // host memory, not the GPU's
}

TEST(DeviceShare, ItsMappedBufferCountsButNotAnotherGpus) {
  json report = {{"weights", 0},
                 {"kv", 0},
                 {"compute", 0},
                 {"buffers", json::array({{{"buffer", "CUDA0_Mapped"}, {"weights", 50}, {"kv", 0}, {"compute", 0}},
                                          {{"buffer", "CUDA1"}, {"weights", 70}, {"kv", 5}, {"compute", 5}},
                                          {{"buffer", "CUDA01"}, {"weights", 9}, {"kv", 0}, {"compute", 0}}})}};
  auto fp = device_share(report, "CUDA0");
  EXPECT_EQ(fp.weights, 50u);
  EXPECT_EQ(fp.kv, 0u);
  EXPECT_EQ(fp.compute, 0u);
}

TEST(DeviceShare, AReportWithoutBuffersIsTakenWhole) {
  auto fp = device_share({{"weights", 7}, {"kv", 8}, {"compute", 9}}, "CUDA0");
  EXPECT_EQ(fp.weights, 7u);
  EXPECT_EQ(fp.kv, 8u);
  EXPECT_EQ(fp.compute, 9u);
}

}  // namespace
