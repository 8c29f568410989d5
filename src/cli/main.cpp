// `ebb`: one binary, many subcommands.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Logs go to stderr; stdout is for command output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("ebb"));
  if (const char* level = std::getenv("EBB_LOG")) spdlog::set_level(spdlog::level::from_str(level));
  CLI::App app{"ebb: a local LLM server that manages device memory like an OS manages pages"};
  app.require_subcommand(1);
  ebb::cli::add_serve_command(app);
  ebb::cli::add_runner_command(app);
  ebb::cli::add_run_command(app);
  ebb::cli::add_ps_command(app);
  ebb::cli::add_model_commands(app);
  ebb::cli::add_admin_commands(app);
  ebb::cli::add_synth_command(app);
  ebb::cli::add_quantize_command(app);
  ebb::cli::add_store_commands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
