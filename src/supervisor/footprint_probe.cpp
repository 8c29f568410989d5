#include "supervisor/footprint_probe.h"

#include <stdexcept>

#include "supervisor/subprocess.h"

namespace ebb::supervisor {

using json = nlohmann::json;

memory::Footprint device_share(const json& memory, const std::string& device_id) {
  memory::Footprint fp;
  fp.device = device_id.empty() ? "CPU" : device_id;
  const json buffers = memory.value("buffers", json::array());
  if (device_id.empty() || !buffers.is_array() || buffers.empty()) {
    fp.weights = memory.value("weights", uint64_t{0});
    fp.kv = memory.value("kv", uint64_t{0});
    fp.compute = memory.value("compute", uint64_t{0});
    if (device_id.empty()) fp.heap = memory.value("heap", uint64_t{0});  // host RAM is the device
    return fp;
  }
  for (const auto& b : buffers) {
    const std::string name = b.value("buffer", "");
    if (name != device_id && name.rfind(device_id + "_", 0) != 0) continue;
    fp.weights += b.value("weights", uint64_t{0});
    fp.kv += b.value("kv", uint64_t{0});
    fp.compute += b.value("compute", uint64_t{0});
  }
  return fp;
}

memory::Footprint FootprintProbe::measure(const LoadRequest& load, const std::string& identity) {
  const std::string params = load.to_json().dump();
  std::string key = identity + "|" + params;
  {
    std::lock_guard lk(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  auto r = run_child(exe_, {"runner", "--measure", "--params", params}, std::chrono::seconds(120));
  auto j = json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || !j.is_object() || j.contains("error")) {
    std::string why = j.is_object() && j.contains("error")
                          ? j["error"].get<std::string>()
                          : "footprint measurement failed (exit " + std::to_string(r.exit_code) + ")";
    throw std::runtime_error(why);
  }
  memory::Footprint fp = device_share(j, device_id_);
  fp.n_ctx = j.value("n_ctx", load.num_ctx);
  fp.n_parallel = load.num_parallel;
  std::lock_guard lk(mu_);
  cache_[key] = fp;
  return fp;
}

}  // namespace ebb::supervisor
