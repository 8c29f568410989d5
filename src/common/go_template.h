#pragma once
// The subset of Go's text/template that Ollama Modelfile TEMPLATEs use for simple chat formats:
//   {{ .System }} {{ .Prompt }} {{ .Response }}            (and $.System etc. anywhere)
//   {{ if .X }} … {{ else if .Y }} … {{ else }} … {{ end }}
//   {{ range .Messages }} … {{ .Role }} … {{ .Content }} … {{ else }} … {{ end }}
//   {{- trims whitespace before, -}} trims whitespace after, {{/* comments */}}
// Anything else (other fields, functions, pipes, variables, literals, with/define/template…)
// is rejected with a TemplateError whose message names the line and the construct.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ebb {

class TemplateError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct TemplateMessage {
  std::string role, content;
};

// What a template sees: the root fields (.System .Prompt .Suffix .Response .Messages); inside
// {{ range .Messages }} the dot is one message (.Role .Content). .Suffix is the text after the
// insertion point of a fill-in-the-middle request (/api/generate's "suffix").
struct TemplateData {
  std::string system, prompt, suffix, response;
  std::vector<TemplateMessage> messages;
};

// A parsed template, reusable across renders.
class GoTemplate {
 public:
  explicit GoTemplate(const std::string& text);  // throws TemplateError
  ~GoTemplate();
  GoTemplate(GoTemplate&&) noexcept;
  GoTemplate& operator=(GoTemplate&&) noexcept;

  // stop_after_response: end the output right after the first {{ .Response }}, as Ollama does
  // for the turn being generated (so a closing tag after it is not part of the prompt).
  std::string render(const TemplateData& data, bool stop_after_response = false) const;

  // Whether the template reads .Messages. Ollama renders such templates once with the whole
  // conversation; others once per turn with .System/.Prompt/.Response.
  bool uses_messages() const { return uses_messages_; }
  // Whether it reads .Suffix: Ollama's "insert" capability.
  bool uses_suffix() const { return uses_suffix_; }

  struct Node;

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  bool uses_messages_ = false;
  bool uses_suffix_ = false;
};

// Parses and renders in one go. Throws TemplateError.
std::string render_go_template(const std::string& tmpl, const TemplateData& data);
// Parses only. Throws TemplateError.
void validate_go_template(const std::string& tmpl);

}  // namespace ebb
