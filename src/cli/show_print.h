#pragma once
// `ebb show MODEL` as `ollama show` prints it; `ebb run`'s /show info prints the same.
#include <ostream>

#include <nlohmann/json.hpp>

namespace ebb::cli {

// An /api/show answer: Model, Capabilities, Parameters, (verbose) Metadata and Tensors, System,
// License.
void print_show(const nlohmann::json& show, bool verbose, std::ostream& out);

}  // namespace ebb::cli
