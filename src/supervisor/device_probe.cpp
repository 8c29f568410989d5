#include "supervisor/device_probe.h"

#include <fstream>
#include <string>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "supervisor/subprocess.h"

namespace ebb::supervisor {

uint64_t host_ram_total() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (f >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024;
    f.ignore(256, '\n');
  }
  return 0;
}

DeviceInfo detect_device(const std::string& exe, std::optional<uint64_t> emulated_total) {
  DeviceInfo d;
  d.total = host_ram_total();
  auto r = run_child(exe, {"runner", "--devices"}, std::chrono::seconds(30));
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || !j.is_object()) {
    spdlog::warn("device probe failed; budgeting host memory");
  } else {
    for (const auto& dev : j.value("devices", nlohmann::json::array())) {
      if (dev.value("type", "") != "gpu") continue;
      d.id = dev.value("id", "GPU0");
      d.name = dev.value("description", dev.value("name", "GPU"));
      d.total = dev.value("total", uint64_t{0});
      d.is_host_ram = false;
      break;
    }
  }
  if (emulated_total) {
    // On a GPU, --device-memory caps the real device; on the CPU it emulates a GPU of that size.
    if (d.is_host_ram)
      d.name = "host memory emulating a " + std::to_string(*emulated_total >> 20) + " MiB device";
    else
      d.name += " limited to " + std::to_string(*emulated_total >> 20) + " MiB";
    d.total = *emulated_total;
  }
  return d;
}

}  // namespace ebb::supervisor
