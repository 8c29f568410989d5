// `ebb runner --fd N`: internal; spawned by `ebb serve`, one per loaded model.
#include <cstdlib>

#include "cli/commands.h"
#include "runner/runner.h"

namespace ebb::cli {

void add_runner_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("runner", "internal: serve one model for `ebb serve` over a socket");
  cmd->group("");  // hidden from --help
  auto fd = std::make_shared<int>(3);
  cmd->add_option("--fd", *fd, "socket file descriptor")->required();
  cmd->callback([fd] { std::exit(ebb::runner::run(*fd)); });
}

}  // namespace ebb::cli
