#include "store/modelfile.h"

#include <algorithm>
#include <cctype>

#include "common/ascii_case.h"

namespace ebb::store {

namespace {

enum class State { Nil, Name, Value, Parameter, Message, Comment };

bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool space(char c) { return c == ' ' || c == '\t'; }
bool newline(char c) { return c == '\r' || c == '\n'; }
// Go's strconv.IsPrint for the bytes the parser keeps: no ASCII control characters (bytes of a
// multi-byte UTF-8 character pass through).
bool printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || (u >= 0x20 && u != 0x7f);
}

std::string_view trim(std::string_view s) {
  const auto ws = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

const char* kInvalidCommand =
    "command must be one of \"from\", \"license\", \"template\", \"system\", \"adapter\", \"draft\", "
    "\"renderer\", \"parser\", \"parameter\", \"message\", or \"requires\"";

bool valid_command(const std::string& c) {
  static const char* kCommands[] = {"from",     "license", "template",  "system",  "adapter", "draft",
                                    "renderer", "parser",  "parameter", "message", "requires"};
  const std::string l = ascii_lower(c);
  return std::any_of(std::begin(kCommands), std::end(kCommands), [&](const char* k) { return l == k; });
}

bool valid_role(const std::string& r) { return r == "system" || r == "user" || r == "assistant"; }

// A complete value: unquoted, or false while a quote is still open.
bool unquote(std::string_view s, std::string& out) {
  if (s.substr(0, 3) == "\"\"\"") {
    if (s.size() >= 6 && s.substr(s.size() - 3) == "\"\"\"") {
      out = std::string(s.substr(3, s.size() - 6));
      return true;
    }
    return false;
  }
  if (!s.empty() && s[0] == '"') {
    if (s.size() >= 2 && s.back() == '"') {
      out = std::string(s.substr(1, s.size() - 2));
      return true;
    }
    return false;
  }
  out = std::string(s);
  return true;
}

std::string quote(const std::string& s) {
  if (s.find('\n') != std::string::npos || (!s.empty() && (s.front() == ' ' || s.back() == ' ')))
    return s.find('"') != std::string::npos ? "\"\"\"" + s + "\"\"\"" : "\"" + s + "\"";
  return s;
}

[[noreturn]] void fail_at(int line, const std::string& message) {
  throw ModelfileError("(line " + std::to_string(line) + "): " + message);
}

[[noreturn]] void unexpected_end(const std::string& buffer) { throw ModelfileError("unexpected EOF: " + buffer); }

// The state after `c` in state `s`; `keep` says whether `c` goes into the buffer.
State next_state(char c, State s, int line, const std::string& buffer, bool& keep) {
  keep = false;
  switch (s) {
    case State::Nil:
      if (c == '#') return State::Comment;
      if (space(c) || newline(c)) return State::Nil;
      keep = true;
      return State::Name;
    case State::Name:
      if (alpha(c)) return keep = true, State::Name;
      if (space(c)) return State::Value;
      fail_at(line, kInvalidCommand);
    case State::Value: keep = true; return newline(c) || space(c) ? State::Nil : State::Value;
    case State::Parameter:
      if (alpha(c) || digit(c) || c == '_') return keep = true, State::Parameter;
      if (space(c)) return State::Value;
      unexpected_end(buffer);
    case State::Message:
      if (alpha(c)) return keep = true, State::Message;
      if (space(c)) return State::Value;
      unexpected_end(buffer);
    case State::Comment: return newline(c) ? State::Nil : State::Comment;
  }
  return State::Nil;
}

}  // namespace

Modelfile Modelfile::parse(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte order mark
  if (text.substr(0, 2) == "\xFF\xFE" || text.substr(0, 2) == "\xFE\xFF")
    throw ModelfileError("the Modelfile is UTF-16; save it as UTF-8");
  Modelfile f;
  ModelfileCommand cmd;
  State curr = State::Nil;
  int line = 1;
  std::string buffer, role;
  for (char c : text) {
    if (newline(c)) ++line;
    bool keep = false;
    State next = next_state(c, curr, line, buffer, keep);
    if (next != curr) {
      switch (curr) {
        case State::Name: {
          if (!valid_command(buffer)) fail_at(line, kInvalidCommand);
          const std::string s = ascii_lower(buffer);
          if (s == "from") {
            cmd.name = "model";
          } else if (s == "parameter") {
            next = State::Parameter;
          } else {
            if (s == "message") next = State::Message;
            cmd.name = s;
          }
          break;
        }
        case State::Parameter: cmd.name = buffer; break;
        case State::Message:
          if (!valid_role(buffer)) fail_at(line, "message role must be one of \"system\", \"user\", or \"assistant\"");
          role = buffer;
          break;
        case State::Value: {
          std::string value;
          // A space, or a newline inside an open quote, belongs to the value.
          if (!unquote(trim(buffer), value) || space(c)) {
            buffer += c;
            continue;
          }
          if (!role.empty()) value = role + ": " + value, role.clear();
          cmd.args = value;
          f.commands.push_back(cmd);
          break;
        }
        case State::Nil:
        case State::Comment: break;
      }
      buffer.clear();
      curr = next;
    }
    if (keep && printable(c)) buffer += c;
  }
  switch (curr) {
    case State::Nil:
    case State::Comment: break;
    case State::Value: {
      std::string value;
      if (!unquote(trim(buffer), value)) unexpected_end(buffer);
      if (!role.empty()) value = role + ": " + value;
      cmd.args = value;
      f.commands.push_back(cmd);
      break;
    }
    default: unexpected_end(buffer);
  }
  if (std::none_of(f.commands.begin(), f.commands.end(), [](const auto& c) { return c.name == "model"; }))
    throw ModelfileError("no FROM line");
  return f;
}

std::string Modelfile::str() const {
  std::string out;
  for (const auto& c : commands) {
    if (c.name == "model") {
      out += "FROM " + c.args;
    } else if (c.name == "license" || c.name == "template" || c.name == "system" || c.name == "adapter" ||
               c.name == "renderer" || c.name == "parser" || c.name == "requires" || c.name == "draft") {
      std::string upper = c.name;
      std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char x) { return std::toupper(x); });
      out += upper + " " + quote(c.args);
    } else if (c.name == "message") {
      const size_t cut = c.args.find(": ");
      out += "MESSAGE " + c.args.substr(0, cut) + " " + quote(cut == std::string::npos ? "" : c.args.substr(cut + 2));
    } else {
      out += "PARAMETER " + c.name + " " + quote(c.args);
    }
    out += "\n";
  }
  return out;
}

}  // namespace ebb::store
