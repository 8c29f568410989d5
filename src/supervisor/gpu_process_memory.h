#pragma once
// Device memory per process on an NVIDIA GPU, read through NVML (libnvidia-ml.so.1, opened at
// run time, so that a build without CUDA needs nothing). This is the "actual" side of the
// accounting on a GPU, as RSS is on the CPU.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>

namespace ebb::supervisor {

// pid → bytes of device memory on GPU `index` (NVML's order); nullopt where NVML is missing or
// fails. Thread-safe.
std::optional<std::map<pid_t, uint64_t>> gpu_process_memory(unsigned index = 0);

}  // namespace ebb::supervisor
