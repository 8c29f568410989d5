// `ebb synth`: write a synthetic llama GGUF (random weights, printable vocabulary).
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "engine/synth.h"

namespace ebb::cli {

void add_synth_command(CLI::App& root) {
  struct Options {
    engine::SynthSpec spec;
    std::string params;
    std::string chat_template_file;
  };
  auto opt = std::make_shared<Options>();
  engine::SynthSpec& s = opt->spec;

  CLI::App* cmd = root.add_subcommand("synth", "Write a synthetic llama GGUF (seeded random weights)");
  cmd->add_option("--out,-o", s.out, "Output .gguf file")->required();
  cmd->add_option("--params,-p", opt->params, "Target parameter count: 1M, 50M, 430M, 1.5B, 7B");
  cmd->add_option("--quant,-q", s.quant, "f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_k q3_k q4_k q5_k q6_k")
      ->capture_default_str();
  cmd->add_option("--ctx", s.ctx, "Trained context length written to the file")->capture_default_str();
  cmd->add_option("--seed", s.seed, "Weight seed (same seed, same bytes)")->capture_default_str();
  cmd->add_option("--layers", s.n_layer, "Blocks (default: fitted to --params)");
  cmd->add_option("--embd", s.n_embd, "Embedding width");
  cmd->add_option("--ffn", s.n_ff, "Feed-forward width");
  cmd->add_option("--heads", s.n_head, "Attention heads");
  cmd->add_option("--kv-heads", s.n_head_kv, "KV heads (default: = heads)");
  cmd->add_option("--vocab", s.n_vocab, "Vocabulary size");
  cmd->add_option("--threads", s.threads, "Generator threads (default: all cores)");
  cmd->add_option("--name", s.name, "general.name (default: ebb-synth-<params>)");
  cmd->add_flag("--embedding", s.embedding_model, "Mark as an embedding model (mean pooling)");
  cmd->add_flag("--fim", s.fim, "Fill-in-the-middle tokens (the last three ids): the model can insert (suffix)");
  cmd->add_option("--chat-template", opt->chat_template_file,
                  "Jinja chat template file for tokenizer.chat_template (default: plain ChatML)")
      ->check(CLI::ExistingFile);

  cmd->callback([opt]() {
    try {
      if (!opt->params.empty()) opt->spec.params = engine::parse_param_count(opt->params);
      if (!opt->chat_template_file.empty()) {
        std::ifstream in(opt->chat_template_file, std::ios::binary);
        opt->spec.chat_template.assign(std::istreambuf_iterator<char>(in), {});
        if (!in.good() && !in.eof()) throw std::runtime_error("cannot read " + opt->chat_template_file);
      }
      const auto start = std::chrono::steady_clock::now();
      const engine::SynthResult r = engine::synth_model(opt->spec);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf(
          "%s: %s params (%llu), layers %u, embd %u, ffn %u, heads %u/%u, vocab %u, %s, ctx %u, "
          "%.1f MiB in %.1f s\n",
          opt->spec.out.c_str(), engine::format_param_count(r.params).c_str(),
          static_cast<unsigned long long>(r.params), r.n_layer, r.n_embd, r.n_ff, r.n_head, r.n_head_kv, r.n_vocab,
          r.quant.c_str(), opt->spec.ctx, r.file_bytes / 1048576.0, secs);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ebb synth: %s\n", e.what());
      throw CLI::RuntimeError(1);
    }
  });
}

}  // namespace ebb::cli
