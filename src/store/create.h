#pragma once
// `ollama create` at the store level (Ollama's server/create.go): a new model from a base model in
// the store or from uploaded GGUF blobs, with its template, system prompt, parameters, messages
// and licenses as layers, the config blob filled from the GGUF header, optionally quantized; the
// manifest written last. The HTTP route and the CLI turn their input into a CreateRequest.
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/modelfile.h"
#include "store/store_writer.h"

namespace ebb::store {

struct CreateMessage {
  std::string role, content;
};

// Ollama's api.CreateRequest, the fields ebb acts on.
struct CreateRequest {
  std::string model;                                     // the name to create ("name" is an old spelling)
  std::string from;                                      // a model in the store, or a GGUF blob's "sha256:…"
  std::map<std::string, std::string> files;              // file name → digest of an uploaded GGUF blob
  nlohmann::json parameters = nlohmann::json::object();  // normalized (see normalize_parameters)
  std::string template_text, system;
  std::vector<CreateMessage> messages;
  std::vector<std::string> licenses;
  std::string quantize;   // "" or one of create_quantize_types(), as given
  bool adapters = false;  // adapters were asked for (refused: ebb cannot serve them)

  // From /api/create's body. Throws std::invalid_argument saying which field is wrong.
  static CreateRequest from_json(const nlohmann::json& body);
};

// The quantize types create accepts ("q4_0", "q4_K_M", "q8_0").
const std::vector<std::string>& create_quantize_types();

// The local files a Modelfile's FROM lines name (resolved as Ollama does: "~/" from $HOME, a
// relative path from `modelfile_dir`), which the CLI uploads as blobs before it sends the request.
// A FROM that names no existing file is a model name, not listed. Throws std::invalid_argument for
// a directory (ebb imports GGUF files, not safetensors) or for an ADAPTER line.
std::vector<std::filesystem::path> modelfile_local_files(const Modelfile& mf,
                                                         const std::filesystem::path& modelfile_dir);

// A Modelfile as the request its JSON form would be (Ollama's Modelfile.CreateRequest).
// `uploaded`: each path modelfile_local_files returned → its blob's digest. PARAMETER values are
// typed (parameter_from_text); repeated stop lines add up. Throws std::invalid_argument.
CreateRequest create_request(const Modelfile& mf, const std::filesystem::path& modelfile_dir,
                             const std::map<std::filesystem::path, std::string>& uploaded, std::string model);

// Rewrites the GGUF `in` as `out` at `type`; `progress(done, total)` per tensor. Throws
// std::runtime_error. The server's is quantize_with_ebb (a child process); tests pass a fake.
using Quantizer = std::function<void(const std::filesystem::path& in, const std::filesystem::path& out,
                                     const std::string& type, const std::function<void(int, int)>& progress)>;

using Progress = std::function<void(const nlohmann::json&)>;

// Creates req.model. Reports Ollama's NDJSON status objects through `progress` ("parsing GGUF",
// "quantizing F16 model to Q4_0" with total/completed, "using existing layer sha256:…",
// "creating new layer sha256:…", "writing manifest", "success"). Errors: std::invalid_argument for
// a bad request (400), ModelNotFoundError for a missing base model (404), ReadOnlyStoreError,
// else std::runtime_error. Replacing a model deletes the blobs of the old one no manifest names.
void create_model(const StoreWriter& writer, const CreateRequest& req, const Quantizer& quantizer,
                  const Progress& progress);

}  // namespace ebb::store
