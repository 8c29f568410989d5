// `ebb`: one binary, many subcommands.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"ebb: a local LLM server that manages device memory like an OS manages pages"};
  app.require_subcommand(1);
  ebb::cli::add_serve_command(app);
  ebb::cli::add_runner_command(app);
  ebb::cli::add_run_command(app);
  ebb::cli::add_ps_command(app);
  ebb::cli::add_synth_command(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
