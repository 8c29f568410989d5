// `ebb ps`: the loaded models with Ollama's columns first (NAME ID SIZE PROCESSOR CONTEXT UNTIL),
// then ebb's (TIER POLICY KV MEASURED KV UNTIL), then the device budget and the host tier.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "common/human_format.h"
#include "common/time_format.h"
#include "common/units.h"

namespace ebb::cli {
namespace {

using json = nlohmann::json;

// Where the model runs, as `ollama ps` says it: "100% GPU", "100% CPU", "25%/75% CPU/GPU".
std::string processor(uint64_t size, uint64_t vram) {
  if (vram == 0) return "100% CPU";
  if (vram == size) return "100% GPU";
  if (vram > size || size == 0) return "Unknown";
  const auto cpu = static_cast<int>(std::round(static_cast<double>(size - vram) / static_cast<double>(size) * 100));
  return std::to_string(cpu) + "%/" + std::to_string(100 - cpu) + "% CPU/GPU";
}

// A deadline as Ollama's UNTIL column: "4 minutes from now", "Forever", "Stopping..." once past.
std::string until(const std::string& rfc3339, std::chrono::system_clock::time_point now, const char* none) {
  const auto t = parse_rfc3339(rfc3339);
  if (!t) return none;
  if (*t < now) return "Stopping...";
  return human_time(t, now, none);
}

void print_ps(const json& ps, const json& mem) {
  const auto now = std::chrono::system_clock::now();
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL", "TIER", "POLICY", "KV", "MEASURED", "KV UNTIL"}};
  for (const auto& m : ps.value("models", json::array())) {
    const uint64_t size = m.value("size", uint64_t{0});
    const std::string digest = m.value("digest", "");
    rows.push_back({m.value("name", ""), digest.size() >= 12 ? digest.substr(0, 12) : "-", human_bytes(size),
                    processor(size, m.value("size_vram", uint64_t{0})), std::to_string(m.value("context_length", 0)),
                    until(m.value("expires_at", ""), now, "Never"), m.value("tier", ""), m.value("policy", ""),
                    human_bytes(m.value("kv_bytes", uint64_t{0})), human_bytes(m.value("actual_bytes", uint64_t{0})),
                    until(m.value("kv_release_at", ""), now, "-")});
  }
  std::cout << render_table(rows);
  for (const auto& d : mem.value("devices", json::array()))
    std::printf(
        "\ndevice %s: used %s of %s budget (total %s, headroom %s)\n", d.value("id", "").c_str(),
        format_bytes(d.value("used", uint64_t{0})).c_str(), format_bytes(d.value("budget", uint64_t{0})).c_str(),
        format_bytes(d.value("total", uint64_t{0})).c_str(), format_bytes(d.value("headroom", uint64_t{0})).c_str());
  const auto host = mem.value("host", json::object());
  const auto snapshots = mem.value("snapshots", json::object());
  std::printf("host tier: %s locked of %s; snapshots: %d, %s\n",
              format_bytes(host.value("locked", uint64_t{0})).c_str(),
              format_bytes(host.value("budget", uint64_t{0})).c_str(), snapshots.value("count", 0),
              format_bytes(snapshots.value("used", uint64_t{0})).c_str());
  for (const auto& m : host.value("models", json::array()))
    std::printf("  %s (%s, %s)\n", m.value("name", "").c_str(), m.value("tier", "").c_str(),
                format_bytes(m.value("bytes", uint64_t{0})).c_str());
}

}  // namespace

void add_ps_command(CLI::App& root) {
  auto host = std::make_shared<std::string>();
  auto* cmd = root.add_subcommand(
      "ps", "list loaded models (ollama's columns, then tiers and timers), the device budget and the host tier");
  add_host_option(cmd, *host);
  cmd->callback([host] {
    try {
      const ClientAddress addr = server_address(*host);
      print_ps(get_json(addr, "/api/ps"), get_json(addr, "/api/memory"));
    } catch (const std::exception& e) {
      std::cerr << "Error: " << e.what() << std::endl;
      std::exit(1);
    }
  });
}

}  // namespace ebb::cli
