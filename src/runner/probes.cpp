#include "runner/probes.h"

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "engine/devices.h"
#include "engine/engine.h"

namespace ebb::runner {

using json = nlohmann::json;

static void print_line(const json& j) {
  std::fputs((j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n").c_str(), stdout);
  std::fflush(stdout);
}

int measure(const std::string& params_json) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    engine::LoadParams p = engine::load_params_from_json(json::parse(params_json));
    p.dry_run = true;
    engine::Engine e(p);
    json out = e.memory().to_json();
    out["n_ctx"] = e.params().num_ctx;
    out["num_parallel"] = e.params().num_parallel;
    out["ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    print_line(out);
    return 0;
  } catch (const std::exception& e) {
    print_line({{"error", e.what()}});
    return 1;
  }
}

int devices() {
  try {
    print_line(engine::list_devices());
    return 0;
  } catch (const std::exception& e) {
    print_line({{"error", e.what()}});
    return 1;
  }
}

}  // namespace ebb::runner
