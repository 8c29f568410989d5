#pragma once
// Modelfiles as Ollama's parser/parser.go reads them: one command per line (FROM, PARAMETER,
// TEMPLATE, SYSTEM, MESSAGE, LICENSE, ADAPTER, ...; case-insensitive), '#' comments, values
// quoted with "..." or """...""" to span lines or keep edge spaces. Errors name the line.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ebb::store {

struct ModelfileCommand {
  // "model" for FROM, a parameter's name for PARAMETER, else the command in lower case.
  std::string name;
  // The value, unquoted; "role: text" for MESSAGE.
  std::string args;
  bool operator==(const ModelfileCommand&) const = default;
};

struct Modelfile {
  std::vector<ModelfileCommand> commands;

  // Throws ModelfileError. A Modelfile without FROM is an error ("no FROM line").
  static Modelfile parse(std::string_view text);
  // The Modelfile's text again, values quoted where they need it (Ollama's String()).
  std::string str() const;
};

struct ModelfileError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

}  // namespace ebb::store
