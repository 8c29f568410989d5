// `ebb ps`: the device budget, the models on it with their tiers and timers, and the host tier.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "common/units.h"

namespace ebb::cli {
namespace {

using json = nlohmann::json;

// "2026-11-26T18:07:02.825Z" → "18:07:02"; "" → "-".
std::string clock_time(const std::string& rfc3339) {
  if (rfc3339.size() < 19) return "-";
  if (rfc3339.rfind("2318-", 0) == 0) return "never";
  return rfc3339.substr(11, 8);
}

void print_ps(const json& ps, const json& mem) {
  for (const auto& d : mem.value("devices", json::array()))
    std::printf(
        "device %s: used %s of %s budget (total %s, headroom %s)\n", d.value("id", "").c_str(),
        format_bytes(d.value("used", uint64_t{0})).c_str(), format_bytes(d.value("budget", uint64_t{0})).c_str(),
        format_bytes(d.value("total", uint64_t{0})).c_str(), format_bytes(d.value("headroom", uint64_t{0})).c_str());
  std::printf("%-20s %-8s %-10s %-10s %-10s %-10s %-8s %-9s %s\n", "NAME", "TIER", "POLICY", "SIZE", "KV", "MEASURED",
              "CONTEXT", "KV UNTIL", "UNTIL");
  for (const auto& m : ps.value("models", json::array())) {
    std::printf("%-20s %-8s %-10s %-10s %-10s %-10s %-8d %-9s %s\n", m.value("name", "").c_str(),
                m.value("tier", "").c_str(), m.value("policy", "").c_str(),
                format_bytes(m.value("size", uint64_t{0})).c_str(),
                format_bytes(m.value("kv_bytes", uint64_t{0})).c_str(),
                format_bytes(m.value("actual_bytes", uint64_t{0})).c_str(), m.value("context_length", 0),
                clock_time(m.value("kv_release_at", "")).c_str(), clock_time(m.value("expires_at", "")).c_str());
  }
  const auto host = mem.value("host", json::object());
  for (const auto& m : host.value("models", json::array()))
    std::printf("%-20s %-8s %-10s %-10s\n", m.value("name", "").c_str(), m.value("tier", "").c_str(), "",
                format_bytes(m.value("bytes", uint64_t{0})).c_str());
  std::printf("host tier: %s locked of %s; snapshots: %d, %s\n",
              format_bytes(host.value("locked", uint64_t{0})).c_str(),
              format_bytes(host.value("budget", uint64_t{0})).c_str(), mem["snapshots"].value("count", 0),
              format_bytes(mem["snapshots"].value("used", uint64_t{0})).c_str());
}

}  // namespace

void add_ps_command(CLI::App& root) {
  auto host = std::make_shared<std::string>();
  auto* cmd =
      root.add_subcommand("ps", "show the device budget, loaded models with tiers and timers, and the host tier");
  cmd->add_option("--host", *host, "server address (env EBB_HOST)");
  cmd->callback([host] {
    try {
      std::string addr = server_address(*host);
      print_ps(get_json(addr, "/api/ps"), get_json(addr, "/api/memory"));
    } catch (const std::exception& e) {
      std::cerr << "Error: " << e.what() << std::endl;
      std::exit(1);
    }
  });
}

}  // namespace ebb::cli
