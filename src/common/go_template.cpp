#include "common/go_template.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace ebb {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

[[noreturn]] void fail(int line, const std::string& what) {
  throw TemplateError("template: line " + std::to_string(line) + ": " + what);
}

// One lexed piece: literal text, or the inside of {{ }} with its line number.
struct Item {
  bool is_action = false;
  std::string text;
  int line = 1;
};

// Splits a template into text and actions, applying the {{- and -}} trim markers.
std::vector<Item> lex(const std::string& src) {
  std::vector<Item> items;
  size_t pos = 0;
  int line = 1;
  bool trim_next_text = false;
  auto advance_line = [&](size_t from, size_t to) {
    line += static_cast<int>(std::count(src.begin() + from, src.begin() + to, '\n'));
  };
  while (pos <= src.size()) {
    size_t open = src.find("{{", pos);
    std::string text = src.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    if (trim_next_text) {
      size_t first = 0;
      while (first < text.size() && is_space(text[first])) ++first;
      text.erase(0, first);
    }
    if (open == std::string::npos) {
      if (!text.empty()) items.push_back({false, text, line});
      break;
    }
    advance_line(pos, open);
    size_t body_start = open + 2;
    if (body_start < src.size() && src[body_start] == '-') {
      if (body_start + 1 >= src.size() || !is_space(src[body_start + 1]))
        fail(line, "a '{{-' trim marker must be followed by a space");
      while (!text.empty() && is_space(text.back())) text.pop_back();
      ++body_start;
    }
    if (!text.empty()) items.push_back({false, text, line});
    // A comment may contain "}}", so it ends at "*/" rather than at the first "}}".
    size_t search_from = body_start;
    size_t first_char = body_start;
    while (first_char < src.size() && is_space(src[first_char])) ++first_char;
    if (src.compare(first_char, 2, "/*") == 0) {
      size_t end_comment = src.find("*/", first_char + 2);
      if (end_comment == std::string::npos) fail(line, "unclosed comment");
      search_from = end_comment + 2;
    }
    size_t close = src.find("}}", search_from);
    if (close == std::string::npos) fail(line, "unclosed action: missing '}}'");
    size_t body_end = close;
    trim_next_text = false;
    if (body_end > body_start && src[body_end - 1] == '-') {
      if (body_end - 1 <= body_start || !is_space(src[body_end - 2]))
        fail(line, "a '-}}' trim marker must be preceded by a space");
      trim_next_text = true;
      --body_end;
    }
    std::string body = src.substr(body_start, body_end - body_start);
    size_t b = 0, e = body.size();
    while (b < e && is_space(body[b])) ++b;
    while (e > b && is_space(body[e - 1])) --e;
    items.push_back({true, body.substr(b, e - b), line});
    advance_line(open, close + 2);
    pos = close + 2;
  }
  return items;
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

constexpr std::array<std::string_view, 5> kRootFields = {"System", "Prompt", "Suffix", "Response", "Messages"};
constexpr std::array<std::string_view, 2> kMessageFields = {"Role", "Content"};

bool contains(const auto& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

std::string list_names(const auto& list) {
  std::string out;
  for (auto name : list) out += (out.empty() ? "." : ", .") + std::string(name);
  return out;
}

}  // namespace

struct GoTemplate::Node {
  // A field reference: .Name (relative to the dot) or $.Name (relative to the root data).
  struct FieldRef {
    bool from_root = false;
    std::string name;
    std::string spelling() const { return (from_root ? "$." : ".") + name; }
  };
  struct Branch {
    FieldRef condition;
    std::vector<std::unique_ptr<Node>> body;
  };
  enum class Kind { Text, Field, If, Range } kind = Kind::Text;
  std::string text;                              // Text
  FieldRef field;                                // Field; Range's list
  std::vector<Branch> branches;                  // If: if / else if conditions in order
  std::vector<std::unique_ptr<Node>> body;       // Range
  std::vector<std::unique_ptr<Node>> else_body;  // If, Range
};

namespace {

using FieldRef = GoTemplate::Node::FieldRef;
using Branch = GoTemplate::Node::Branch;
using NodeList = std::vector<std::unique_ptr<GoTemplate::Node>>;

// Recursive-descent parser over lexed items; checks every field against the dot's scope.
class Parser {
 public:
  explicit Parser(std::vector<Item> items) : items_(std::move(items)) {}

  bool uses_messages = false;
  bool uses_suffix = false;

  NodeList parse_template() {
    std::string terminator;
    NodeList nodes = parse_list(false, terminator);
    if (!terminator.empty()) fail(last_line_, "unexpected {{" + terminator + "}} without a matching if or range");
    return nodes;
  }

 private:
  // Parses until end of input or an {{else…}}/{{end}}; the terminating action's words go to terminator.
  NodeList parse_list(bool in_message, std::string& terminator) {
    NodeList nodes;
    terminator.clear();
    while (pos_ < items_.size()) {
      const Item& item = items_[pos_++];
      last_line_ = item.line;
      if (!item.is_action) {
        auto n = std::make_unique<GoTemplate::Node>();
        n->text = item.text;
        nodes.push_back(std::move(n));
        continue;
      }
      if (item.text.starts_with("/*")) {
        if (!item.text.ends_with("*/")) fail(item.line, "text after a comment in the same action");
        continue;
      }
      check_supported(item);
      std::vector<std::string> words = split_words(item.text);
      const std::string& head = words[0];
      if (head == "end" || head == "else") {
        terminator = item.text;
        return nodes;
      }
      if (head == "if") {
        nodes.push_back(parse_if(words, item.line, in_message));
      } else if (head == "range") {
        nodes.push_back(parse_range(words, item.line, in_message));
      } else {
        if (words.size() != 1)
          fail(item.line, "unexpected '" + words[1] + "' after " + head + " (only single fields can be printed)");
        FieldRef ref = parse_field(head, item.line, in_message);
        if (ref.name == "Messages")
          fail(item.line, "cannot print " + ref.spelling() + "; use {{ range " + ref.spelling() + " }}");
        auto n = std::make_unique<GoTemplate::Node>();
        n->kind = GoTemplate::Node::Kind::Field;
        n->field = ref;
        nodes.push_back(std::move(n));
      }
    }
    return nodes;
  }

  std::unique_ptr<GoTemplate::Node> parse_if(const std::vector<std::string>& words, int line, bool in_message) {
    auto n = std::make_unique<GoTemplate::Node>();
    n->kind = GoTemplate::Node::Kind::If;
    std::vector<std::string> cond = words;
    int cond_line = line;
    for (;;) {
      if (cond.size() != 2) fail(cond_line, "'if' takes exactly one field, as in {{ if .System }}");
      Branch branch{parse_field(cond[1], cond_line, in_message), {}};
      std::string terminator;
      branch.body = parse_list(in_message, terminator);
      n->branches.push_back(std::move(branch));
      std::vector<std::string> t = split_words(terminator);
      if (t.empty()) fail(line, "'if' is missing its {{ end }}");
      if (t[0] == "end") return n;
      // else or else if
      if (t.size() >= 2 && t[1] == "if") {
        cond.assign(t.begin() + 1, t.end());
        cond_line = last_line_;
        continue;
      }
      if (t.size() != 1) fail(last_line_, "unsupported {{" + terminator + "}}");
      std::string end;
      n->else_body = parse_list(in_message, end);
      if (end.empty()) fail(line, "'if' is missing its {{ end }}");
      if (end != "end") fail(last_line_, "unexpected {{" + end + "}} after {{ else }}");
      return n;
    }
  }

  std::unique_ptr<GoTemplate::Node> parse_range(const std::vector<std::string>& words, int line, bool in_message) {
    if (words.size() != 2) fail(line, "'range' takes exactly one field, as in {{ range .Messages }}");
    auto n = std::make_unique<GoTemplate::Node>();
    n->kind = GoTemplate::Node::Kind::Range;
    n->field = parse_field(words[1], line, in_message);
    if (n->field.name != "Messages")
      fail(line, "cannot range over " + n->field.spelling() + "; only .Messages is a list");
    std::string terminator;
    n->body = parse_list(true, terminator);
    if (terminator.empty()) fail(line, "'range' is missing its {{ end }}");
    if (terminator == "else") {
      n->else_body = parse_list(in_message, terminator);
      if (terminator.empty()) fail(line, "'range' is missing its {{ end }}");
    }
    if (terminator != "end") fail(last_line_, "unexpected {{" + terminator + "}} in range");
    return n;
  }

  // Rejects the constructs outside the subset, each with its own message.
  static void check_supported(const Item& item) {
    const std::string& t = item.text;
    if (t.empty()) fail(item.line, "empty action {{ }}");
    if (t.find('|') != std::string::npos) fail(item.line, "pipelines ('|') are not supported: {{" + t + "}}");
    if (t.find('(') != std::string::npos) fail(item.line, "parenthesized expressions are not supported: {{" + t + "}}");
    if (t.find(":=") != std::string::npos || t.find(" = ") != std::string::npos)
      fail(item.line, "variables are not supported: {{" + t + "}}");
    std::vector<std::string> words = split_words(t);
    const std::string& head = words[0];
    static constexpr std::array<std::string_view, 7> kOtherActions = {"with",  "define",   "template", "block",
                                                                      "break", "continue", "nil"};
    if (contains(kOtherActions, head))
      fail(item.line, "'" + head + "' is not supported (only if, else, range, end and fields)");
    if (head == "if" || head == "range" || head == "else" || head == "end") {
      if (head == "end" && words.size() != 1) fail(item.line, "unexpected words after {{ end }}");
      return;
    }
    if (head[0] == '"' || head[0] == '`' || head[0] == '\'' || std::isdigit(static_cast<unsigned char>(head[0])) ||
        head == "true" || head == "false" || head[0] == '-')
      fail(item.line, "literals are not supported: {{" + t + "}}");
    if (head[0] == '$' && head != "$" && !head.starts_with("$."))
      fail(item.line, "variables are not supported: " + head);
    if (is_identifier(head)) fail(item.line, "function '" + head + "' is not supported");
  }

  FieldRef parse_field(const std::string& word, int line, bool in_message) {
    FieldRef ref;
    std::string_view rest = word;
    if (rest.starts_with("$.")) {
      ref.from_root = true;
      rest.remove_prefix(2);
    } else if (rest.starts_with(".")) {
      rest.remove_prefix(1);
    } else if (rest == "." || rest == "$") {
      fail(line, "'" + word + "' on its own is not supported; name a field such as .Prompt");
    } else if (rest.starts_with("$")) {
      fail(line, "variables are not supported: " + word);
    } else if (is_identifier(rest)) {
      fail(line, "function '" + word + "' is not supported");
    } else {
      fail(line, "expected a field such as .Prompt, got '" + word + "'");
    }
    if (rest.empty()) fail(line, "'" + word + "' on its own is not supported; name a field such as .Prompt");
    if (!is_identifier(rest))
      fail(line, "unsupported field reference '" + word + "' (nested fields are not supported)");
    ref.name = std::string(rest);
    if (ref.name == "Messages") uses_messages = true;
    if (ref.name == "Suffix") uses_suffix = true;
    bool message_scope = in_message && !ref.from_root;
    if (message_scope && !contains(kMessageFields, ref.name)) {
      std::string hint = contains(kRootFields, ref.name) ? "; inside range use $." + ref.name : "";
      fail(line, "unknown field ." + ref.name + " of a message (known: " + list_names(kMessageFields) + ")" + hint);
    }
    if (!message_scope && !contains(kRootFields, ref.name)) {
      std::string hint =
          contains(kMessageFields, ref.name) ? "; ." + ref.name + " exists only inside {{ range .Messages }}" : "";
      fail(line, "unknown field " + ref.spelling() + " (known: " + list_names(kRootFields) + ")" + hint);
    }
    return ref;
  }

  std::vector<Item> items_;
  size_t pos_ = 0;
  int last_line_ = 1;
};

// Walks the tree; dot is the current message inside range, else nullptr (the root).
class Renderer {
 public:
  Renderer(const TemplateData& data, bool stop_after_response)
      : data_(data), stop_after_response_(stop_after_response) {}

  void run(const NodeList& nodes, const TemplateMessage* dot) {
    for (const auto& n : nodes) {
      if (halted_) return;
      switch (n->kind) {
        case GoTemplate::Node::Kind::Text: out += n->text; break;
        case GoTemplate::Node::Kind::Field:
          out += string_value(n->field, dot);
          if (stop_after_response_ && n->field.name == "Response" && (!dot || n->field.from_root)) halted_ = true;
          break;
        case GoTemplate::Node::Kind::If: {
          const NodeList* chosen = &n->else_body;
          for (const auto& b : n->branches) {
            if (truthy(b.condition, dot)) {
              chosen = &b.body;
              break;
            }
          }
          run(*chosen, dot);
          break;
        }
        case GoTemplate::Node::Kind::Range:
          if (data_.messages.empty()) run(n->else_body, dot);
          for (const auto& m : data_.messages) {
            if (halted_) break;
            run(n->body, &m);
          }
          break;
      }
    }
  }

  std::string out;

 private:
  const std::string& string_value(const FieldRef& f, const TemplateMessage* dot) const {
    if (dot && !f.from_root) return f.name == "Role" ? dot->role : dot->content;
    if (f.name == "System") return data_.system;
    if (f.name == "Prompt") return data_.prompt;
    if (f.name == "Suffix") return data_.suffix;
    return data_.response;
  }

  bool truthy(const FieldRef& f, const TemplateMessage* dot) const {
    if ((!dot || f.from_root) && f.name == "Messages") return !data_.messages.empty();
    return !string_value(f, dot).empty();
  }

  const TemplateData& data_;
  bool stop_after_response_ = false;
  bool halted_ = false;
};

}  // namespace

GoTemplate::GoTemplate(const std::string& text) {
  Parser parser(lex(text));
  nodes_ = parser.parse_template();
  uses_messages_ = parser.uses_messages;
  uses_suffix_ = parser.uses_suffix;
}
GoTemplate::~GoTemplate() = default;
GoTemplate::GoTemplate(GoTemplate&&) noexcept = default;
GoTemplate& GoTemplate::operator=(GoTemplate&&) noexcept = default;

std::string GoTemplate::render(const TemplateData& data, bool stop_after_response) const {
  Renderer r(data, stop_after_response);
  r.run(nodes_, nullptr);
  return std::move(r.out);
}

std::string render_go_template(const std::string& tmpl, const TemplateData& data) {
  return GoTemplate(tmpl).render(data);
}

void validate_go_template(const std::string& tmpl) { GoTemplate{tmpl}; }

}  // namespace ebb
