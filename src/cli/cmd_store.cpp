// `ebb pull`, `ebb push`, `ebb create`, `ebb cp`, `ebb rm`: the model lifecycle as the ollama CLI
// drives it, through the server's API. `create` uploads the GGUF files a Modelfile names as blobs
// first, so the server never reads a client's path.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <httplib.h>
#include <openssl/evp.h>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "common/human_format.h"
#include "store/create.h"
#include "store/modelfile.h"
#include "store/ollama_import.h"

namespace ebb::cli {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Ollama's progress output: one line per status; a layer's line ("pulling 1a2b3c4d5e6f: 45% …")
// redrawn in place on a terminal, printed when done otherwise.
class ProgressPrinter {
 public:
  void operator()(const json& j) {
    const std::string status = j.value("status", "");
    const int64_t total = j.value("total", int64_t{0}), completed = j.value("completed", int64_t{0});
    if (total > 0) {
      const int pct = static_cast<int>(completed * 100 / total);
      const int filled = pct / 5;
      const std::string line = status + ": " + std::to_string(pct) + "% ▕" + bar(filled) + "▏ " +
                               human_bytes(static_cast<uint64_t>(completed)) + "/" +
                               human_bytes(static_cast<uint64_t>(total));
      if (tty_) {
        if (status != current_) end_line();
        std::cout << "\r" << line << "\x1b[K" << std::flush;
        current_ = status;
        open_ = true;
      } else if (completed == total && status != current_) {
        std::cout << line << "\n";
        current_ = status;
      }
      return;
    }
    end_line();
    if (!status.empty() && status != current_) std::cout << status << "\n";
    current_ = status;
  }
  ~ProgressPrinter() { end_line(); }

 private:
  static std::string bar(int filled) {
    std::string out;
    for (int i = 0; i < 20; ++i) out += i < filled ? "█" : " ";
    return out;
  }
  void end_line() {
    if (open_) std::cout << "\n";
    open_ = false;
  }
  bool tty_ = ::isatty(STDOUT_FILENO);
  bool open_ = false;
  std::string current_;
};

std::string sha256_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += {digits[md[i] >> 4], digits[md[i] & 15]};
  return "sha256:" + hex;
}

// HEAD, then a streamed POST when the server lacks it (as `ollama create`).
void upload_blob(const ClientAddress& address, const fs::path& file, const std::string& digest) {
  httplib::Client cli(address.origin());
  authorize(cli);
  cli.set_read_timeout(3600, 0);
  const std::string path = address.path + "/api/blobs/" + digest;
  if (auto r = cli.Head(path.c_str()); r && r->status == 200) return;
  const uint64_t size = fs::file_size(file);
  auto in = std::make_shared<std::ifstream>(file, std::ios::binary);
  std::cout << "copying file " << digest << " (" << human_bytes(size) << ")" << std::endl;
  auto r = cli.Post(
      path.c_str(), size,
      [in](size_t offset, size_t length, httplib::DataSink& sink) {
        std::vector<char> buf(std::min<size_t>(length, 1 << 20));
        in->seekg(static_cast<std::streamoff>(offset));
        in->read(buf.data(), static_cast<std::streamsize>(buf.size()));
        return in->gcount() > 0 && sink.write(buf.data(), static_cast<size_t>(in->gcount()));
      },
      "application/octet-stream");
  if (!r) throw ConnectionError("could not connect to ebb at " + address.to_string());
  if (r->status != 200 && r->status != 201) {
    auto j = json::parse(r->body, nullptr, false);
    throw HttpError(r->status, j.is_object() ? j.value("error", r->body) : r->body);
  }
}

int64_t model_size(const ClientAddress& address, const std::string& name) {
  for (const json& m : get_json(address, "/api/tags")["models"])
    if (m.value("name", "") == name || m.value("name", "") == name + ":latest") return m.value("size", int64_t{0});
  return 0;
}

struct CreateArgs {
  std::string host, model, file = "Modelfile", quantize;
};

void create(const CreateArgs& a) {
  const ClientAddress address = server_address(a.host);
  std::ifstream in(a.file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the Modelfile " + a.file);
  std::stringstream text;
  text << in.rdbuf();
  const store::Modelfile mf = store::Modelfile::parse(text.str());
  const fs::path dir = fs::absolute(a.file).parent_path();
  std::map<fs::path, std::string> uploaded;
  int64_t before = 0;
  for (const fs::path& f : store::modelfile_local_files(mf, dir)) {
    const std::string digest = sha256_file(f);
    upload_blob(address, f, digest);
    uploaded[f] = digest;
    before += static_cast<int64_t>(fs::file_size(f));
  }
  store::CreateRequest r = store::create_request(mf, dir, uploaded, a.model);
  json body = {{"model", a.model}};
  if (!r.from.empty()) body["from"] = r.from;
  if (!r.files.empty()) body["files"] = r.files;
  if (!r.parameters.empty()) body["parameters"] = r.parameters;
  if (!r.template_text.empty()) body["template"] = r.template_text;
  if (!r.system.empty()) body["system"] = r.system;
  if (!r.licenses.empty()) body["license"] = r.licenses;
  if (!r.messages.empty()) {
    body["messages"] = json::array();
    for (const auto& m : r.messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  }
  if (!a.quantize.empty()) body["quantize"] = a.quantize;
  if (before == 0 && !r.from.empty()) before = model_size(address, r.from);
  {
    ProgressPrinter print;
    post_ndjson(address, "/api/create", body, std::ref(print));
  }
  if (!a.quantize.empty())
    std::cout << "size: " << human_bytes(static_cast<uint64_t>(before)) << " before, "
              << human_bytes(static_cast<uint64_t>(model_size(address, a.model))) << " after " << a.quantize
              << std::endl;
}

void stream_job(const std::string& host, const std::string& path, const json& body) {
  ProgressPrinter print;
  post_ndjson(server_address(host), path, body, std::ref(print));
}

// The models directory as `ebb serve` picks it: --models, EBB_MODELS, ~/.ebb/models.
fs::path models_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("EBB_MODELS"); env && *env) return env;
  return fs::path(std::getenv("HOME") ? std::getenv("HOME") : ".") / ".ebb" / "models";
}

// Ollama's own: $OLLAMA_MODELS, else ~/.ollama/models.
fs::path ollama_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("OLLAMA_MODELS"); env && *env) return env;
  return fs::path(std::getenv("HOME") ? std::getenv("HOME") : ".") / ".ollama" / "models";
}

void import_from_ollama(const std::string& from_flag, const std::string& models_flag) {
  const fs::path from = ollama_dir(from_flag), to = models_dir(models_flag);
  std::cout << "importing " << from.string() << " into " << to.string() << std::endl;
  store::ImportResult r;
  {
    ProgressPrinter print;
    r = store::import_store(from, store::StoreWriter(store::Store(to), false), std::ref(print));
  }
  std::cout << r.imported.size() << " imported (" << r.blobs_linked << " blobs hardlinked, " << r.blobs_copied
            << " copied, " << r.blobs_present << " already there)" << std::endl;
  for (const auto& s : r.skipped) std::cout << "skipped " << s << std::endl;
}

}  // namespace

void add_store_commands(CLI::App& root) {
  {
    struct Args {
      std::string from, models;
      bool from_ollama = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = root.add_subcommand("import", "copy an Ollama store's models into ebb's (hardlinks on one filesystem)");
    cmd->add_flag("--from-ollama", a->from_ollama, "import from an Ollama store (required)")->required();
    cmd->add_option("dir", a->from, "the Ollama store (default $OLLAMA_MODELS, else ~/.ollama/models)");
    cmd->add_option("--models", a->models, "ebb's models directory (env EBB_MODELS, default ~/.ebb/models)");
    cmd->callback([a] {
      try {
        import_from_ollama(a->from, a->models);
      } catch (const std::exception& e) {
        std::cerr << "Error: " << e.what() << std::endl;
        std::exit(1);
      }
    });
  }
  for (const bool pull : {true, false}) {
    struct Args {
      std::string host, model;
      bool insecure = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = root.add_subcommand(pull ? "pull" : "push", pull ? "pull a model from a registry (as ollama pull)"
                                                                 : "push a model to a registry (as ollama push)");
    cmd->add_option("model", a->model, "model name: [host[:port]/][namespace/]model[:tag]")->required();
    cmd->add_flag("--insecure", a->insecure, "use plain HTTP to the registry");
    add_host_option(cmd, a->host);
    cmd->callback([a, pull] {
      run_client([&] {
        stream_job(a->host, pull ? "/api/pull" : "/api/push", {{"model", a->model}, {"insecure", a->insecure}});
      });
    });
  }
  {
    auto a = std::make_shared<CreateArgs>();
    auto* cmd = root.add_subcommand("create", "create a model from a Modelfile (as ollama create)");
    cmd->add_option("model", a->model, "name of the new model")->required();
    cmd->add_option("-f,--file", a->file, "the Modelfile (default: ./Modelfile)");
    cmd->add_option("-q,--quantize", a->quantize, "quantize the model: q4_0, q4_K_M or q8_0");
    add_host_option(cmd, a->host);
    cmd->callback([a] { run_client([&] { create(*a); }); });
  }
  {
    struct Args {
      std::string host, source, destination;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = root.add_subcommand("cp", "copy a model (as ollama cp)");
    cmd->add_option("source", a->source)->required();
    cmd->add_option("destination", a->destination)->required();
    add_host_option(cmd, a->host);
    cmd->callback([a] {
      run_client([&] {
        const ClientAddress address = server_address(a->host);
        httplib::Client cli(address.origin());
        authorize(cli);
        auto r = cli.Post((address.path + "/api/copy").c_str(),
                          json{{"source", a->source}, {"destination", a->destination}}.dump(), "application/json");
        if (!r) throw ConnectionError("could not connect to ebb at " + address.to_string());
        if (r->status != 200) throw HttpError(r->status, json::parse(r->body, nullptr, false).value("error", r->body));
        std::cout << "copied '" << a->source << "' to '" << a->destination << "'" << std::endl;
      });
    });
  }
  {
    struct Args {
      std::string host;
      std::vector<std::string> models;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = root.add_subcommand("rm", "remove models (as ollama rm)");
    cmd->add_option("models", a->models)->required();
    add_host_option(cmd, a->host);
    cmd->callback([a] {
      run_client([&] {
        const ClientAddress address = server_address(a->host);
        httplib::Client cli(address.origin());
        authorize(cli);
        for (const auto& m : a->models) {
          auto r = cli.Delete((address.path + "/api/delete").c_str(), json{{"model", m}}.dump(), "application/json");
          if (!r) throw ConnectionError("could not connect to ebb at " + address.to_string());
          if (r->status != 200)
            throw HttpError(r->status, json::parse(r->body, nullptr, false).value("error", r->body));
          std::cout << "deleted '" << m << "'" << std::endl;
        }
      });
    });
  }
}

}  // namespace ebb::cli
