#pragma once
// Ollama's /api/show answer and /api/tags entries, built from a model's registry entry and GGUF
// header (pure: no I/O, so unit tests feed them headers made in memory).
#include <string>

#include <nlohmann/json.hpp>

#include "common/gguf_reader.h"
#include "supervisor/model_registry.h"

namespace ebb::api {

// /api/show's "model_info": every metadata key but general.name and tokenizer.chat_template, plus
// general.parameter_count, with values as Ollama prints them (f32 values at their shortest). As in
// Ollama, arrays are null unless `verbose` (then whole: `info` must have been read with
// GgufReadOptions::keep_arrays, or the arrays it did not keep stay null); empty arrays are [].
nlohmann::json show_model_info(const GgufInfo& info, bool verbose);

// "parameters": the settings of a [[model]] config entry that are Ollama options (num_ctx,
// num_batch, num_thread), one per line as Ollama aligns them; "" for a file found in the models
// directory (it runs with the defaults).
std::string show_parameters(const supervisor::ModelEntry& entry);

// A Modelfile like `ollama show --modelfile` prints: FROM the file, its TEMPLATE, PARAMETERs,
// LICENSE.
std::string show_modelfile(const supervisor::ModelEntry& entry, const GgufInfo& info);

// The whole /api/show answer. `info` is the entry's header, or the same file read again with
// every array kept for `verbose`. `system`: the request's own "system", which Ollama echoes.
nlohmann::json show_response(const supervisor::ModelEntry& entry, const GgufInfo& info, bool verbose,
                             const std::string& system = "");

// One /api/tags entry ("name", "model", "modified_at", "size", "digest", "details"), with "error"
// (the reason its requests fail) for a model ebb cannot serve.
nlohmann::json tag_entry(const supervisor::ModelEntry& entry);

}  // namespace ebb::api
