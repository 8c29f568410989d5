#pragma once
// What a stored model's small layers say: Ollama keeps a Modelfile's TEMPLATE, SYSTEM, PARAMETER,
// MESSAGE and LICENSE commands as blobs beside the GGUF. Requests take them as defaults (Ollama's
// order: the request's own value wins), and /api/show prints them back.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/manifest.h"
#include "store/store.h"

namespace ebb::store {

struct ModelLayers {
  bool has_template = false;
  std::string template_text;                          // a Go template, as stored
  std::string system;                                 // the last system layer's text
  nlohmann::json params = nlohmann::json::object();   // Ollama options, typed ("stop": ["…"])
  nlohmann::json messages = nlohmann::json::array();  // [{"role", "content"}]
  std::vector<std::string> licenses;                  // one per license layer, in order
};

// Reads the manifest's template, system, params, messages and license blobs. Throws
// std::runtime_error naming the layer that is missing, too large or malformed (params not a JSON
// object, messages not an array of {role, content}).
ModelLayers read_model_layers(const Store& store, const Manifest& manifest);

// The layers as Modelfile commands after FROM (Ollama's Model.String order: TEMPLATE, SYSTEM,
// PARAMETER…, LICENSE…, MESSAGE…); an array parameter gives one line per value.
std::string modelfile_commands(const ModelLayers& layers);

// /api/show's "parameters": one "name value" line per value, the name padded to 30 columns,
// strings quoted as Go's %#v prints them.
std::string show_parameters_text(const nlohmann::json& params);

}  // namespace ebb::store
