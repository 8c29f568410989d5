// `ebb ps`: models that hold device memory, with their tiers and timers.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "common/units.h"

namespace ebb::cli {

void add_ps_command(CLI::App& root) {
  auto host = std::make_shared<std::string>();
  auto* cmd = root.add_subcommand("ps", "list loaded models");
  cmd->add_option("--host", *host, "server address (env EBB_HOST)");
  cmd->callback([host] {
    try {
      auto j = get_json(server_address(*host), "/api/ps");
      std::printf("%-24s %-10s %-10s %-8s %s\n", "NAME", "TIER", "SIZE", "CONTEXT", "UNTIL");
      for (const auto& m : j.value("models", nlohmann::json::array())) {
        std::printf("%-24s %-10s %-10s %-8d %s\n", m.value("name", "").c_str(), m.value("tier", "ready").c_str(),
                    format_bytes(m.value("size", uint64_t{0})).c_str(), m.value("context_length", 0),
                    m.value("expires_at", "").c_str());
      }
    } catch (const std::exception& e) {
      std::cerr << "Error: " << e.what() << std::endl;
      std::exit(1);
    }
  });
}

}  // namespace ebb::cli
