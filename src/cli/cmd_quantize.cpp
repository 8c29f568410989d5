// `ebb quantize IN OUT TYPE`: rewrite a GGUF at a lower precision, then show what it saves on
// disk and on the device at a given context size.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "engine/quantize.h"

namespace ebb::cli {
namespace {

// Decimal units, as Ollama prints sizes: "8.0 GB", "930 MB". unit_of picks the unit, so the two
// sides of a comparison can share one.
std::string human(uint64_t bytes, uint64_t unit_of = 0) {
  const uint64_t scale = unit_of ? unit_of : bytes;
  char buf[32];
  if (scale >= 1'000'000'000ull)
    std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
  else if (scale >= 1'000'000ull)
    std::snprintf(buf, sizeof buf, "%.0f MB", bytes / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.0f KB", bytes / 1e3);
  return buf;
}

// A tensor-count progress bar on stderr, redrawn in place when stderr is a terminal.
class ProgressBar {
 public:
  ProgressBar() : tty_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

  void update(int done, int total) {
    done_ = done;
    total_ = total;
    if (tty_) draw('\r');
  }
  void finish() {
    if (total_ == 0) return;
    draw(tty_ ? '\r' : '\0');
    std::fputc('\n', stderr);
  }

 private:
  void draw(char lead) {
    constexpr int kWidth = 32;
    int filled = total_ > 0 ? done_ * kWidth / total_ : 0;
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (lead) std::fputc(lead, stderr);
    std::fprintf(stderr, "[%s] %d/%d tensors, %.1f s", bar.c_str(), done_, total_, secs);
    std::fflush(stderr);
  }

  bool tty_;
  std::chrono::steady_clock::time_point start_;
  int done_ = 0, total_ = 0;
};

void print_device_line(const engine::ModelFacts& f) {
  const auto& d = f.device;
  std::printf("  %-7s %s + %s + %s = %s\n", f.quantization.c_str(), human(d.weights).c_str(), human(d.kv).c_str(),
              human(d.compute).c_str(), human(d.total()).c_str());
}

}  // namespace

void add_quantize_command(CLI::App& root) {
  struct Options {
    std::string input, output, type;
    int32_t threads = 0;
    uint32_t num_ctx = 4096;
    bool progress_json = false;
  };
  auto opt = std::make_shared<Options>();
  std::string types;
  for (const auto& n : engine::quantize_type_names()) types += (types.empty() ? "" : " ") + n;

  CLI::App* cmd = root.add_subcommand("quantize", "Quantize an F16/F32/BF16 GGUF and compare device bytes");
  cmd->add_option("input", opt->input, "Input .gguf (F32, F16 or BF16)")->required();
  cmd->add_option("output", opt->output, "Output .gguf")->required();
  cmd->add_option("type", opt->type, "Target type: " + types)->required();
  cmd->add_option("--threads", opt->threads, "Quantization threads (default: all cores)");
  cmd->add_option("--num-ctx", opt->num_ctx, "Context size for the device-bytes comparison")->capture_default_str();
  cmd->add_flag("--progress-json", opt->progress_json,
                "Print {\"done\":N,\"total\":M} per tensor on stdout and nothing else (the server's create)");

  cmd->callback([opt]() {
    try {
      const int threads = opt->threads > 0 ? opt->threads : static_cast<int>(std::thread::hardware_concurrency());
      if (opt->progress_json) {  // for a parent process: progress lines only, no device comparison
        engine::QuantizeSpec spec{opt->input, opt->output, opt->type, threads, [](int done, int total) {
                                    std::printf("{\"done\":%d,\"total\":%d}\n", done, total);
                                    std::fflush(stdout);
                                  }};
        engine::check_quantize_spec(spec);
        for (const auto& w : engine::quantize_file(spec)) std::fprintf(stderr, "note: %s\n", w.c_str());
        return;
      }
      ProgressBar bar;
      engine::QuantizeSpec spec{opt->input, opt->output, opt->type, threads,
                                [&bar](int done, int total) { bar.update(done, total); }};
      engine::check_quantize_spec(spec);  // bad arguments fail before any work
      const engine::ModelFacts before = engine::inspect_model(opt->input, opt->num_ctx);
      std::printf("%s (%s, %s) → %s (%s), %d threads\n", opt->input.c_str(), before.size_label.c_str(),
                  before.quantization.c_str(), opt->output.c_str(), opt->type.c_str(), threads);
      std::fflush(stdout);

      std::vector<std::string> warnings;
      try {
        warnings = engine::quantize_file(spec);
      } catch (...) {
        bar.finish();
        throw;
      }
      bar.finish();
      for (const auto& w : warnings) std::fprintf(stderr, "note: %s\n", w.c_str());

      const engine::ModelFacts after = engine::inspect_model(opt->output, opt->num_ctx);
      std::printf("file size: %s → %s (%.0f%%)\n", human(before.file_bytes).c_str(), human(after.file_bytes).c_str(),
                  before.file_bytes ? 100.0 * after.file_bytes / before.file_bytes : 0.0);
      std::printf("device bytes at num_ctx %u (weights + KV + compute):\n", before.num_ctx);
      print_device_line(before);
      print_device_line(after);
      const uint64_t larger = std::max(before.device.total(), after.device.total());
      std::printf("%s: %s → %s\n", before.size_label.c_str(), human(before.device.total(), larger).c_str(),
                  human(after.device.total(), larger).c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ebb quantize: %s\n", e.what());
      throw CLI::RuntimeError(1);
    }
  });
}

}  // namespace ebb::cli
