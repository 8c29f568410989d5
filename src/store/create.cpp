#include "store/create.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>

#include <openssl/evp.h>

#include "common/gguf_reader.h"
#include "common/go_template.h"
#include "common/model_details.h"
#include "store/blob_writer.h"
#include "store/parameters.h"

namespace ebb::store {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string string_field(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return {};
  if (!body[key].is_string()) throw std::invalid_argument(std::string("'") + key + "' must be a string");
  return body[key].get<std::string>();
}

// The canonical spelling of a quantize type ("Q4_k_m" → "q4_K_M"). Throws std::invalid_argument.
std::string quantize_type(const std::string& given) {
  for (const auto& t : create_quantize_types())
    if (upper(t) == upper(given)) return t;
  std::string known;
  for (const auto& t : create_quantize_types()) known += (known.empty() ? "" : ", ") + t;
  throw std::invalid_argument("unsupported quantization type '" + given + "' (ebb can quantize to " + known + ")");
}

// Ollama's fs.ValidPath for the names in "files": relative, no "." or ".." element, no empty one.
bool valid_file_name(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.back() == '/') return false;
  for (size_t at = 0; at <= p.size();) {
    size_t end = p.find('/', at);
    if (end == std::string::npos) end = p.size();
    const std::string_view part(p.data() + at, end - at);
    if (part.empty() || part == "." || part == "..") return false;
    at = end + 1;
  }
  return true;
}

bool is_digest(const std::string& s) {
  return (s.rfind("sha256:", 0) == 0 || s.rfind("sha256-", 0) == 0) && blob_file_name(s).has_value();
}

std::string file_sha256_hex(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::runtime_error("cannot start SHA-256");
  }
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  }
  const bool failed = in.bad();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  if (failed) throw std::runtime_error("cannot read " + file.string());
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += {hex[md[i] >> 4], hex[md[i] & 15]};
  return out;
}

std::string read_small_blob(const Store& store, const Layer& l) {
  return read_manifest_file(*store.blob_path(l.digest));  // same size cap: params and configs are small
}

fs::path expand_path(const std::string& p, const fs::path& dir) {
  if (p.empty()) return dir;
  if (p.front() == '/') return fs::path(p).lexically_normal();
  if (p.front() == '~') {
    const size_t slash = p.find('/');
    const std::string user = p.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    std::string home;
    if (user.empty()) {
      const char* h = std::getenv("HOME");
      home = h ? h : "";
    } else if (const passwd* pw = ::getpwnam(user.c_str())) {
      home = pw->pw_dir;
    } else {
      throw std::invalid_argument("failed to find user '" + user + "'");
    }
    return (fs::path(home) / (slash == std::string::npos ? "" : p.substr(slash + 1))).lexically_normal();
  }
  return (dir / p).lexically_normal();
}

struct ModelLayer {
  Layer layer;
  bool created = false;  // written by this create (a quantized file): "creating new layer"
};

// A GGUF blob as a layer: model, or projector for a vision encoder file.
Layer gguf_layer(const StoreWriter& w, const std::string& digest, const std::string& from, const Progress& progress) {
  progress({{"status", "parsing GGUF"}});
  const auto path = w.store().blob_path(digest);
  if (!path) throw std::invalid_argument("invalid digest format");
  if (!BlobWriter::present(w.store().blobs_dir(), digest))
    throw std::invalid_argument("blob " + digest + " not found: upload it first (POST /api/blobs/" + digest + ")");
  GgufInfo info;
  try {
    info = read_gguf_header(path->string());
  } catch (const GgufError& e) {
    throw std::invalid_argument("supplied file was not in GGUF format (" + e.reason() + ")");
  }
  const std::string type = info.get_string("general.type").value_or("");
  if (type == "adapter") throw std::invalid_argument("adapters are not supported: ebb cannot serve a model with one");
  const bool projector = type == "projector" || type == "mmproj" || info.architecture() == "clip";
  return Layer{std::string(projector ? media::kProjector : media::kModel),
               "sha256:" + path->filename().string().substr(7), static_cast<int64_t>(info.file_size), from};
}

// Rewrites a model layer at `type` into a new blob.
Layer quantize_layer(const StoreWriter& w, const Layer& layer, const std::string& from_type, const std::string& type,
                     const Quantizer& quantizer, const Progress& progress) {
  static std::atomic<int> counter{0};
  const fs::path tmp = w.store().blobs_dir() /
                       ("tmp-quantize-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".gguf");
  auto cleanup = [&] {
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::remove(tmp.string() + ".partial", ec);
  };
  const std::string status = "quantizing " + from_type + " model to " + upper(type);
  try {
    progress({{"status", status}, {"digest", "0000000000000000000"}, {"total", layer.size}, {"completed", 0}});
    quantizer(*w.store().blob_path(layer.digest), tmp, type, [&](int done, int total) {
      const int64_t completed = total > 0 ? layer.size * done / total : 0;
      progress(
          {{"status", status}, {"digest", "0000000000000000000"}, {"total", layer.size}, {"completed", completed}});
    });
    std::error_code ec;
    const auto size = fs::file_size(tmp, ec);
    if (ec) throw std::runtime_error("the quantizer wrote no file (" + ec.message() + ")");
    try {
      read_gguf_header(tmp.string());  // never a broken file as a model layer
    } catch (const GgufError& e) {
      throw std::runtime_error("the quantized file is not a valid GGUF: " + e.reason());
    }
    const std::string digest = "sha256:" + file_sha256_hex(tmp);
    const fs::path final_path = *w.store().blob_path(digest);
    if (BlobWriter::present(w.store().blobs_dir(), digest)) {
      cleanup();
    } else {
      fs::permissions(tmp, fs::perms(0644), ec);
      fs::rename(tmp, final_path, ec);
      if (ec) throw std::runtime_error("cannot rename " + tmp.string() + ": " + ec.message());
    }
    return Layer{std::string(media::kModel), digest, static_cast<int64_t>(size), {}};
  } catch (...) {
    cleanup();
    throw;
  }
}

void replace_layers(std::vector<ModelLayer>& layers, std::string_view media_type) {
  std::erase_if(layers, [&](const ModelLayer& l) { return l.layer.media_type == media_type; });
}

void add_blob(const StoreWriter& w, std::vector<ModelLayer>& layers, const std::string& bytes,
              std::string_view media_type) {
  const WrittenLayer wl = w.write_blob(bytes, media_type);
  layers.push_back({wl.layer, !wl.existed});
}

}  // namespace

const std::vector<std::string>& create_quantize_types() {
  static const std::vector<std::string> t = {"q4_0", "q4_K_M", "q8_0"};
  return t;
}

CreateRequest CreateRequest::from_json(const json& body) {
  if (!body.is_object()) throw std::invalid_argument("the request body must be a JSON object");
  CreateRequest r;
  r.model = string_field(body, "model");
  if (r.model.empty()) r.model = string_field(body, "name");
  r.from = string_field(body, "from");
  if (body.contains("files") && !body["files"].is_null()) {
    if (!body["files"].is_object()) throw std::invalid_argument("'files' must be an object of file name to digest");
    for (const auto& [name, digest] : body["files"].items()) {
      if (!valid_file_name(name)) throw std::invalid_argument("file path must be relative");
      if (!digest.is_string() || !is_digest(digest.get<std::string>()))
        throw std::invalid_argument("invalid digest format");
      r.files[name] = digest.get<std::string>();
    }
  }
  r.parameters = normalize_parameters(body.value("parameters", json()));
  r.template_text = string_field(body, "template");
  r.system = string_field(body, "system");
  if (body.contains("messages") && !body["messages"].is_null()) {
    if (!body["messages"].is_array()) throw std::invalid_argument("'messages' must be an array");
    for (const auto& m : body["messages"]) {
      if (!m.is_object()) throw std::invalid_argument("each message must be an object with a role and content");
      r.messages.push_back({string_field(m, "role"), string_field(m, "content")});
    }
  }
  if (body.contains("license") && !body["license"].is_null()) {
    const json& l = body["license"];
    if (l.is_string()) {
      if (!l.get<std::string>().empty()) r.licenses.push_back(l.get<std::string>());
    } else if (l.is_array() && std::all_of(l.begin(), l.end(), [](const json& e) { return e.is_string(); })) {
      for (const auto& e : l) r.licenses.push_back(e.get<std::string>());
    } else {
      throw std::invalid_argument("'license' must be a string or an array of strings");
    }
  }
  r.quantize = string_field(body, "quantize");
  if (r.quantize.empty()) r.quantize = string_field(body, "quantization");
  if (!r.quantize.empty()) r.quantize = quantize_type(r.quantize);
  if (body.contains("adapters") && !body["adapters"].is_null() && !body["adapters"].empty()) r.adapters = true;
  return r;
}

std::vector<fs::path> modelfile_local_files(const Modelfile& mf, const fs::path& modelfile_dir) {
  std::vector<fs::path> out;
  for (const auto& c : mf.commands) {
    if (c.name == "adapter") throw std::invalid_argument("ADAPTER is not supported: ebb cannot serve a model with one");
    if (c.name != "model") continue;
    const fs::path p = expand_path(c.args, modelfile_dir);
    std::error_code ec;
    if (fs::is_directory(p, ec))
      throw std::invalid_argument("FROM " + c.args + " is a directory: ebb imports GGUF files, not safetensors");
    if (fs::exists(p, ec)) out.push_back(p);
  }
  return out;
}

CreateRequest create_request(const Modelfile& mf, const fs::path& modelfile_dir,
                             const std::map<fs::path, std::string>& uploaded, std::string model) {
  CreateRequest r;
  r.model = std::move(model);
  for (const auto& c : mf.commands) {
    if (c.name == "model") {
      const fs::path p = expand_path(c.args, modelfile_dir);
      if (auto it = uploaded.find(p); it != uploaded.end()) {
        r.files[p.filename().string()] = it->second;
        continue;
      }
      std::error_code ec;
      if (fs::exists(p, ec)) throw std::invalid_argument("FROM " + c.args + ": the file was not uploaded");
      r.from = c.args;
    } else if (c.name == "template") {
      r.template_text = c.args;
    } else if (c.name == "system") {
      r.system = c.args;
    } else if (c.name == "license") {
      r.licenses.push_back(c.args);
    } else if (c.name == "message") {
      const size_t colon = c.args.find(": ");
      r.messages.push_back({c.args.substr(0, colon), colon == std::string::npos ? "" : c.args.substr(colon + 2)});
    } else if (c.name == "adapter") {
      throw std::invalid_argument("ADAPTER is not supported: ebb cannot serve a model with one");
    } else if (c.name == "draft") {
      throw std::invalid_argument("DRAFT is not supported by ebb");
    } else if (c.name == "renderer" || c.name == "parser" || c.name == "requires") {
      // Ollama's built-in renderers and parsers: ebb renders the model's own template.
    } else if (!deprecated_parameter(c.name)) {
      json v = parameter_from_text(c.name, c.args);
      if (v.is_array() && r.parameters.contains(c.name))
        r.parameters[c.name].push_back(v[0]);  // PARAMETER stop, repeated
      else
        r.parameters[c.name] = std::move(v);
    }
  }
  r.parameters = normalize_parameters(r.parameters);
  return r;
}

void create_model(const StoreWriter& w, const CreateRequest& req, const Quantizer& quantizer,
                  const Progress& progress) {
  w.check_writable("create a model");
  ModelName name = ModelName::parse(req.model);
  if (!name.valid()) throw std::invalid_argument("invalid model name");
  if (req.adapters) throw std::invalid_argument("adapters are not supported: ebb cannot serve a model with one");
  const std::string quantize = req.quantize.empty() ? "" : quantize_type(req.quantize);
  const json parameters = normalize_parameters(req.parameters);

  std::set<std::string> replaced;  // the blobs of the model this create replaces
  if (const auto old = w.store().find(name)) {
    name = old->name;
    if (old->manifest) replaced = manifest_digests(*old->manifest);
  }

  // The base: a model's layers (kept unless replaced below), or GGUF blobs.
  std::vector<ModelLayer> layers;
  json base_config = json::object();
  if (!req.from.empty() && is_digest(req.from)) {
    layers.push_back({gguf_layer(w, req.from, "", progress)});
  } else if (!req.from.empty()) {
    const ModelName from = ModelName::parse(req.from);
    if (!from.valid()) throw std::invalid_argument("invalid model name '" + req.from + "'");
    const auto base = w.store().find(from);
    if (!base) throw ModelNotFoundError("model '" + req.from + "' not found");
    if (!base->manifest) throw std::runtime_error("model '" + req.from + "': " + base->error);
    for (const auto& l : base->manifest->layers) {
      Layer kept = l;
      kept.from = base->name.display();
      layers.push_back({kept});
    }
    try {
      base_config = json::parse(read_small_blob(w.store(), base->manifest->config));
    } catch (const std::exception&) {
      base_config = json::object();  // the config is rebuilt from the GGUF; only extras are lost
    }
  } else if (!req.files.empty()) {
    for (const auto& [file, digest] : req.files) layers.push_back({gguf_layer(w, digest, file, progress)});
  } else {
    throw std::invalid_argument("neither 'from' or 'files' was specified");
  }

  json config = {{"model_format", "gguf"}, {"model_family", ""}, {"model_families", json::array()},
                 {"model_type", ""},       {"file_type", ""},    {"architecture", "amd64"},
                 {"os", "linux"}};
  for (const char* extra : {"renderer", "parser", "requires", "capabilities"})
    if (base_config.is_object() && base_config.contains(extra)) config[extra] = base_config[extra];

  bool have_model = false;
  for (auto& ml : layers) {
    if (ml.layer.media_type != media::kModel) continue;
    const auto path = w.store().blob_path(ml.layer.digest);
    GgufInfo info;
    try {
      info = read_gguf_header(path->string());
    } catch (const GgufError& e) {
      throw std::runtime_error("the model blob " + ml.layer.digest + " is not a valid GGUF: " + e.reason());
    }
    if (!quantize.empty()) {
      const std::string ft = info.quantization_level();
      if (ft != "F16" && ft != "BF16" && ft != "F32")
        throw std::invalid_argument("quantization is only supported for F16, BF16 and F32 models (this one is " + ft +
                                    ")");
      if (upper(quantize) != ft) {
        ml = {quantize_layer(w, ml.layer, ft, quantize, quantizer, progress), true};
        info = read_gguf_header(w.store().blob_path(ml.layer.digest)->string());
      }
    }
    const json details = model_details(info);
    if (!have_model) {
      config["model_family"] = details.value("family", "");
      config["model_type"] = details.value("parameter_size", "");
      config["file_type"] = details.value("quantization_level", "");
    }
    config["model_families"].push_back(info.architecture());
    have_model = true;
  }
  if (!have_model) throw std::invalid_argument("no model layer: 'from' or 'files' must name a GGUF model");

  if (!req.template_text.empty()) {
    try {
      validate_go_template(req.template_text);
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string("template error: ") + e.what());
    }
    replace_layers(layers, media::kTemplate);
    add_blob(w, layers, req.template_text, media::kTemplate);
  }
  if (!req.system.empty()) {
    replace_layers(layers, media::kSystem);
    add_blob(w, layers, req.system, media::kSystem);
  }
  for (const auto& l : req.licenses)  // added to the base's, as Ollama does
    if (!l.empty()) add_blob(w, layers, l, media::kLicense);

  // Parameters: the request's over the base's.
  json merged = parameters;
  for (const auto& ml : layers) {
    if (ml.layer.media_type != media::kParams) continue;
    json base;
    try {
      base = json::parse(read_small_blob(w.store(), ml.layer));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot read the base model's parameters " + ml.layer.digest + ": " + e.what());
    }
    if (!base.is_object()) throw std::runtime_error("the base model's parameters are not a JSON object");
    for (const auto& [k, v] : base.items())
      if (!merged.contains(k)) merged[k] = v;
  }
  if (!merged.empty()) {
    replace_layers(layers, media::kParams);
    add_blob(w, layers, merged.dump(), media::kParams);
  }

  if (!req.messages.empty()) {
    json m = json::array();
    for (const auto& msg : req.messages) m.push_back({{"role", msg.role}, {"content", msg.content}});
    replace_layers(layers, media::kMessages);
    add_blob(w, layers, m.dump(), media::kMessages);
  }

  std::vector<Layer> out;
  json diff_ids = json::array();
  for (const auto& ml : layers) {
    out.push_back(ml.layer);
    diff_ids.push_back(ml.layer.digest);
  }
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  const WrittenLayer cfg = w.write_blob(config.dump(), media::kConfig);

  for (const auto& ml : layers)
    progress({{"status", (ml.created ? "creating new layer " : "using existing layer ") + ml.layer.digest}});
  progress({{"status", "writing manifest"}});
  w.write_manifest(name, cfg.layer, out);
  for (const auto& l : out) replaced.erase(l.digest);
  replaced.erase(cfg.layer.digest);
  w.prune(replaced);
  progress({{"status", "success"}});
}

}  // namespace ebb::store
