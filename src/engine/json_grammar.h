#pragma once
// GBNF grammars for Ollama's "format": "json" (any JSON object) and JSON-schema formats, built by
// llama-common's converter. Strings in, strings out: this header carries no JSON library, so
// callers keep Debian's nlohmann-json while json_grammar.cpp sees llama-common's.
#include <string>

namespace ebb::engine {

// Grammar for format "json": one JSON object, of any shape.
std::string json_object_grammar();

// Grammar for a JSON schema given as JSON text. Throws std::runtime_error when the schema
// cannot be converted (unknown types, unresolved $ref, not an object...).
std::string json_schema_grammar(const std::string& schema_json);

}  // namespace ebb::engine
