#include "supervisor/gpu_process_memory.h"

#include <dlfcn.h>

#include <mutex>
#include <vector>

#include <spdlog/spdlog.h>

namespace ebb::supervisor {
namespace {

// NVML's ABI, as its documentation fixes it (nvmlProcessInfo_v2_t and the _v2 entry points).
struct ProcessInfoV2 {
  unsigned int pid;
  unsigned long long used_gpu_memory;
  unsigned int gpu_instance_id;
  unsigned int compute_instance_id;
};
constexpr int kSuccess = 0, kInsufficientSize = 7;
constexpr unsigned long long kNotAvailable = ~0ull;  // NVML_VALUE_NOT_AVAILABLE

struct Nvml {
  int (*init)() = nullptr;
  int (*handle_by_index)(unsigned int, void**) = nullptr;
  int (*compute_processes)(void*, unsigned int*, ProcessInfoV2*) = nullptr;
  bool ok = false;
};

const Nvml& nvml() {
  static Nvml n;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    n.init = reinterpret_cast<int (*)()>(::dlsym(lib, "nvmlInit_v2"));
    n.handle_by_index = reinterpret_cast<int (*)(unsigned int, void**)>(::dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
    n.compute_processes = reinterpret_cast<int (*)(void*, unsigned int*, ProcessInfoV2*)>(
        ::dlsym(lib, "nvmlDeviceGetComputeRunningProcesses_v2"));
    n.ok = n.init && n.handle_by_index && n.compute_processes && n.init() == kSuccess;
    if (!n.ok) spdlog::warn("NVML is present but could not be initialized; GPU memory per process is not measured");
  });
  return n;
}

}  // namespace

std::optional<std::map<pid_t, uint64_t>> gpu_process_memory(unsigned index) {
  const Nvml& n = nvml();
  if (!n.ok) return std::nullopt;
  void* dev = nullptr;
  if (n.handle_by_index(index, &dev) != kSuccess) return std::nullopt;
  std::vector<ProcessInfoV2> infos(64);
  for (int attempt = 0; attempt < 4; ++attempt) {
    unsigned int count = static_cast<unsigned int>(infos.size());
    int rc = n.compute_processes(dev, &count, infos.data());
    if (rc == kInsufficientSize) {
      infos.resize(count + 16);
      continue;
    }
    if (rc != kSuccess) return std::nullopt;
    std::map<pid_t, uint64_t> out;
    for (unsigned int i = 0; i < count; ++i)
      if (infos[i].used_gpu_memory != kNotAvailable) out[static_cast<pid_t>(infos[i].pid)] = infos[i].used_gpu_memory;
    return out;
  }
  return std::nullopt;
}

}  // namespace ebb::supervisor
