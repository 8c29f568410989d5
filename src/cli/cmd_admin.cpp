// ebb's own verbs over the admin routes (docs/api.md, Admin): load, unload [--cold], pin, unpin,
// release-kv, and `ebb memory` (/api/memory as tables).
#include <iostream>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "common/human_format.h"
#include "common/units.h"

namespace ebb::cli {
namespace {

using json = nlohmann::json;

// The model's /api/ps entry after the operation, in one line.
void print_state(const json& m) {
  std::cout << m.value("name", "") << ": " << m.value("tier", "") << (m.value("pinned", false) ? ", pinned" : "")
            << " (weights " << format_bytes(m.value("weights_bytes", uint64_t{0})) << ", KV "
            << format_bytes(m.value("kv_bytes", uint64_t{0})) << ")\n";
}

struct Verb {
  const char* name;
  const char* help;
  const char* route;
};

void add_verb(CLI::App& root, const Verb& v, std::function<void(CLI::App*, json&)> extra = {}) {
  struct Args {
    std::string host, model;
    json body = json::object();
  };
  auto args = std::make_shared<Args>();
  auto* cmd = root.add_subcommand(v.name, v.help);
  cmd->add_option("model", args->model, "model name")->required();
  add_host_option(cmd, args->host);
  if (extra) extra(cmd, args->body);
  const std::string route = v.route;
  cmd->callback([args, route] {
    run_client([&] {
      json body = args->body;
      body["model"] = args->model;
      print_state(post_json(server_address(args->host), route, body));
    });
  });
}

void print_memory(const json& mem) {
  std::vector<std::vector<std::string>> devices = {
      {"DEVICE", "TOTAL", "BUDGET", "USED", "FREE", "HEADROOM", "MEASURED", "BY"}};
  std::vector<std::vector<std::string>> models = {
      {"NAME", "DEVICE", "TIER", "WEIGHTS", "KV", "COMPUTE", "ACCOUNTED", "MEASURED"}};
  for (const auto& d : mem.value("devices", json::array())) {
    const std::string id = d.value("id", "");
    devices.push_back({id + (d.value("emulated", false) ? " (emulated)" : ""),
                       format_bytes(d.value("total", uint64_t{0})), format_bytes(d.value("budget", uint64_t{0})),
                       format_bytes(d.value("used", uint64_t{0})), format_bytes(d.value("free", uint64_t{0})),
                       format_bytes(d.value("headroom", uint64_t{0})),
                       format_bytes(d.value("measured_used", uint64_t{0})), d.value("measured_by", "")});
    for (const auto& m : d.value("models", json::array()))
      models.push_back(
          {m.value("name", ""), id, m.value("tier", ""), format_bytes(m.value("weights_bytes", uint64_t{0})),
           format_bytes(m.value("kv_bytes", uint64_t{0})), format_bytes(m.value("compute_bytes", uint64_t{0})),
           format_bytes(m.value("accounted_bytes", uint64_t{0})),
           format_bytes(m.value("measured_bytes", uint64_t{0}))});
  }
  std::cout << render_table(devices) << "\n" << render_table(models);
  const json host = mem.value("host", json::object());
  const json snapshots = mem.value("snapshots", json::object());
  std::cout << "\nhost tier: " << format_bytes(host.value("locked", uint64_t{0})) << " locked, "
            << format_bytes(host.value("mapped", uint64_t{0})) << " mapped, of "
            << format_bytes(host.value("budget", uint64_t{0})) << "\n";
  for (const auto& m : host.value("models", json::array()))
    std::cout << "  " << m.value("name", "") << " (" << m.value("tier", "") << ", "
              << format_bytes(m.value("bytes", uint64_t{0})) << ")\n";
  std::cout << "snapshots: " << snapshots.value("count", 0) << ", "
            << format_bytes(snapshots.value("used", uint64_t{0})) << " of "
            << format_bytes(snapshots.value("budget", uint64_t{0})) << "\n"
            << "waiting requests: " << mem.value("waiting_requests", 0) << "\n";
}

}  // namespace

void add_admin_commands(CLI::App& root) {
  add_verb(root, {"load", "load a model onto the device (ready tier)", "/api/models/load"},
           [](CLI::App* cmd, json& body) {
             cmd->add_option_function<std::string>(
                 "--keepalive", [&body](const std::string& v) { body["keep_alive"] = v; },
                 "how long it stays loaded (\"5m\", \"1h\", -1 forever)");
           });
  add_verb(root, {"unload", "take a model off the device (to the host tier, or --cold)", "/api/models/unload"},
           [](CLI::App* cmd, json& body) {
             cmd->add_flag_callback(
                 "--cold", [&body] { body["tier"] = "cold"; }, "release its host RAM too");
           });
  add_verb(root, {"pin", "keep a model on the device: never evicted or unloaded by keep_alive", "/api/models/pin"});
  add_verb(root, {"unpin", "let a pinned model be evicted again", "/api/models/pin"},
           [](CLI::App*, json& body) { body["pinned"] = false; });
  add_verb(root, {"release-kv", "release a model's KV cache now (snapshotted to RAM)", "/api/models/release-kv"});

  auto host = std::make_shared<std::string>();
  auto* mem = root.add_subcommand("memory", "device budgets, each model's bytes, the host tier and snapshots");
  add_host_option(mem, *host);
  mem->callback([host] { run_client([&] { print_memory(get_json(server_address(*host), "/api/memory")); }); });
}

}  // namespace ebb::cli
