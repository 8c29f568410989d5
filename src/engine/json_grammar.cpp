#include "engine/json_grammar.h"

#include <stdexcept>

#include "json-schema-to-grammar.h"

namespace ebb::engine {

std::string json_object_grammar() {
  static const std::string grammar = json_schema_grammar(R"({"type":"object"})");
  return grammar;
}

std::string json_schema_grammar(const std::string& schema_json) {
  try {
    return json_schema_to_grammar(common_json::parse(schema_json));
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("invalid JSON schema in 'format': ") + e.what());
  }
}

}  // namespace ebb::engine
