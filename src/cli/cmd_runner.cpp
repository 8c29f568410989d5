// `ebb runner`: internal. `--fd N` serves one model for `ebb serve` over a socket;
// `--measure --params JSON` and `--devices` print one JSON line and exit.
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "runner/probes.h"
#include "runner/runner.h"

namespace ebb::cli {

namespace {
struct RunnerArgs {
  int fd = -1;
  bool measure = false;
  bool devices = false;
  std::string params;
};
}  // namespace

void add_runner_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("runner", "internal: serve one model for `ebb serve` over a socket");
  cmd->group("");  // hidden from --help
  auto args = std::make_shared<RunnerArgs>();
  cmd->add_option("--fd", args->fd, "socket file descriptor");
  cmd->add_flag("--measure", args->measure, "print the footprint of a load (no_alloc dry run) as JSON");
  cmd->add_option("--params", args->params, "load parameters as JSON, for --measure");
  cmd->add_flag("--devices", args->devices, "print the compute devices as JSON");
  cmd->callback([args] {
    if (args->devices) std::exit(ebb::runner::devices());
    if (args->measure) {
      if (args->params.empty()) {
        std::puts(R"({"error":"--measure needs --params '<load json>'"})");
        std::exit(1);
      }
      std::exit(ebb::runner::measure(args->params));
    }
    if (args->fd < 0) {
      std::fputs("ebb runner: give --fd N, --measure --params JSON, or --devices\n", stderr);
      std::exit(2);
    }
    std::exit(ebb::runner::run(args->fd));
  });
}

}  // namespace ebb::cli
