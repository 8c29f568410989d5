#pragma once
// Each `ebb` subcommand registers itself on the root CLI11 app.
#include <CLI/CLI.hpp>

namespace ebb::cli {
void add_serve_command(CLI::App& root);
void add_runner_command(CLI::App& root);
void add_run_command(CLI::App& root);
void add_ps_command(CLI::App& root);
void add_model_commands(CLI::App& root);  // list (ls), show, stop
void add_admin_commands(CLI::App& root);  // load, unload, pin, unpin, release-kv, memory
void add_synth_command(CLI::App& root);
void add_quantize_command(CLI::App& root);
void add_store_commands(CLI::App& root);  // pull, push, create, cp, rm, import
}  // namespace ebb::cli
