#include "store/model_layers.h"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "store/modelfile.h"

namespace ebb::store {

namespace {

using json = nlohmann::json;

// Text layers are small; a larger one is not what its media type says.
constexpr uintmax_t kMaxLayerBytes = 16 << 20;

std::string short_type(std::string_view media_type) {
  const auto dot = media_type.rfind('.');
  return std::string(dot == std::string_view::npos ? media_type : media_type.substr(dot + 1));
}

std::string read_blob(const Store& store, const Layer& layer) {
  const std::string what = short_type(layer.media_type) + " layer " + layer.digest;
  const auto path = store.blob_path(layer.digest);
  if (!path) throw std::runtime_error(what + ": invalid digest");
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(*path, ec);
  if (ec) throw std::runtime_error(what + ": its blob is missing");
  if (size > kMaxLayerBytes) throw std::runtime_error(what + ": larger than such a layer can be");
  std::ifstream in(*path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  if (!in) throw std::runtime_error(what + ": cannot be read");
  return out.str();
}

json read_json(const Store& store, const Layer& layer) {
  try {
    return json::parse(read_blob(store, layer));
  } catch (const json::parse_error& e) {
    throw std::runtime_error(short_type(layer.media_type) + " layer " + layer.digest + ": not JSON (" + e.what() + ")");
  }
}

// Go's %#v of a JSON value: strings quoted with Go's escapes, numbers as %v prints a float64.
std::string go_sharp_v(const json& v) {
  if (v.is_string()) return json(v.get<std::string>()).dump(-1, ' ', false, json::error_handler_t::replace);
  return v.dump();
}

std::string go_v(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

ModelLayers read_model_layers(const Store& store, const Manifest& manifest) {
  ModelLayers out;
  for (const Layer& layer : manifest.layers) {
    const std::string_view type = layer.media_type;
    if (type == media::kTemplate) {
      out.has_template = true;
      out.template_text = read_blob(store, layer);
    } else if (type == media::kSystem) {
      out.system = read_blob(store, layer);
    } else if (type == media::kLicense) {
      out.licenses.push_back(read_blob(store, layer));
    } else if (type == media::kParams) {
      json params = read_json(store, layer);
      if (!params.is_object()) throw std::runtime_error("params layer " + layer.digest + ": not a JSON object");
      out.params = std::move(params);
    } else if (type == media::kMessages) {
      json messages = read_json(store, layer);
      bool ok = messages.is_array();
      for (const json& m : ok ? messages : json::array())
        ok = ok && m.is_object() && m.value("role", json()).is_string() && m.value("content", json()).is_string();
      if (!ok) throw std::runtime_error("messages layer " + layer.digest + ": not an array of {role, content}");
      out.messages = json::array();
      for (const json& m : messages) out.messages.push_back({{"role", m["role"]}, {"content", m["content"]}});
    }
  }
  return out;
}

std::string modelfile_commands(const ModelLayers& layers) {
  Modelfile f;
  if (layers.has_template) f.commands.push_back({"template", layers.template_text});
  if (!layers.system.empty()) f.commands.push_back({"system", layers.system});
  for (const auto& [name, value] : layers.params.items()) {
    if (value.is_array())
      for (const json& v : value) f.commands.push_back({name, go_v(v)});
    else
      f.commands.push_back({name, go_v(value)});
  }
  for (const auto& license : layers.licenses) f.commands.push_back({"license", license});
  for (const json& m : layers.messages)
    f.commands.push_back({"message", m["role"].get<std::string>() + ": " + m["content"].get<std::string>()});
  return f.str();
}

std::string show_parameters_text(const json& params) {
  std::string out;
  auto line = [&](const std::string& name, const json& v) {
    if (!out.empty()) out += "\n";
    out += fmt::format("{:<30} {}", name, go_sharp_v(v));
  };
  for (const auto& [name, value] : params.items()) {
    if (value.is_array())
      for (const json& v : value) line(name, v);
    else
      line(name, value);
  }
  return out;
}

}  // namespace ebb::store
