#pragma once
// Which device ebb budgets for: the first GPU that `ebb runner --devices` reports, else host RAM.
// `--device-memory` makes the CPU device emulate a GPU of that total size.
#include <cstdint>
#include <optional>
#include <string>

namespace ebb::supervisor {

struct DeviceInfo {
  std::string id = "CPU";
  std::string name = "host memory";
  uint64_t total = 0;
  bool is_host_ram = true;
};

uint64_t host_ram_total();  // MemTotal from /proc/meminfo
DeviceInfo detect_device(const std::string& exe, std::optional<uint64_t> emulated_total);

}  // namespace ebb::supervisor
