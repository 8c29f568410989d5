#include "store/registry_auth.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "common/ascii_case.h"

namespace ebb::store {

namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void skip_space(std::string_view& s) {
  while (!s.empty() && (s[0] == ' ' || s[0] == '\t')) s.remove_prefix(1);
}

std::string take_token(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && is_token_char(s[n])) ++n;
  std::string out(s.substr(0, n));
  s.remove_prefix(n);
  return out;
}

}  // namespace

std::optional<Challenge> parse_challenge(std::string_view s) {
  skip_space(s);
  Challenge c;
  c.scheme = ascii_lower(take_token(s));
  if (c.scheme.empty()) return std::nullopt;
  for (;;) {
    skip_space(s);
    if (s.empty()) break;
    std::string key = ascii_lower(take_token(s));
    skip_space(s);
    // Anything but key=value starts another challenge ("Basic realm=x, Bearer …") or is a
    // token68 value: the first challenge ends here.
    if (key.empty() || s.empty() || s[0] != '=') break;
    s.remove_prefix(1);
    skip_space(s);
    std::string value;
    if (!s.empty() && s[0] == '"') {
      s.remove_prefix(1);
      bool closed = false;
      while (!s.empty()) {
        char ch = s[0];
        s.remove_prefix(1);
        if (ch == '\\' && !s.empty()) {
          value += s[0];
          s.remove_prefix(1);
        } else if (ch == '"') {
          closed = true;
          break;
        } else {
          value += ch;
        }
      }
      if (!closed) return std::nullopt;
    } else {
      value = take_token(s);
    }
    c.params[key] = value;
    skip_space(s);
    if (s.empty()) break;
    if (s[0] != ',') return std::nullopt;
    s.remove_prefix(1);
  }
  return c;
}

std::optional<Url> token_url(const Challenge& c) {
  auto realm = c.params.find("realm");
  if (realm == c.params.end()) return std::nullopt;
  auto url = parse_url(realm->second);
  if (!url) return std::nullopt;
  for (const char* key : {"service", "scope"}) {
    if (auto p = c.params.find(key); p != c.params.end() && !p->second.empty())
      url->target = append_query(url->target, key, p->second);
  }
  return url;
}

std::optional<std::string> token_from_answer(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  for (const char* key : {"token", "access_token"}) {
    if (auto t = j.find(key); t != j.end() && t->is_string() && !t->get<std::string>().empty())
      return t->get<std::string>();
  }
  return std::nullopt;
}

std::string basic_authorization(const Credentials& c) {
  return "Basic " + base64_encode(c.username + ":" + c.password);
}

}  // namespace ebb::store
