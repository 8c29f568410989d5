#include "supervisor/footprint_probe.h"

#include <stdexcept>

#include "supervisor/subprocess.h"

namespace ebb::supervisor {

using json = nlohmann::json;

memory::Footprint FootprintProbe::measure(const json& load, const std::string& identity) {
  std::string key = identity + "|" + load.dump();
  {
    std::lock_guard lk(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  auto r = run_child(exe_, {"runner", "--measure", "--params", load.dump()}, std::chrono::seconds(120));
  auto j = json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || !j.is_object() || j.contains("error")) {
    std::string why = j.is_object() && j.contains("error") ? j["error"].get<std::string>()
                                                           : "footprint measurement failed (exit " + std::to_string(r.exit_code) + ")";
    throw std::runtime_error(why);
  }
  memory::Footprint fp;
  fp.device = "CPU";
  fp.weights = j.value("weights", uint64_t{0});
  fp.kv = j.value("kv", uint64_t{0});
  fp.compute = j.value("compute", uint64_t{0});
  fp.n_ctx = j.value("n_ctx", load.value("num_ctx", 0u));
  fp.n_parallel = load.value("num_parallel", 1u);
  std::lock_guard lk(mu_);
  cache_[key] = fp;
  return fp;
}

}  // namespace ebb::supervisor
