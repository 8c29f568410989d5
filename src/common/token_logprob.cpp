#include "common/token_logprob.h"

#include <charconv>

namespace ebb {

using json = nlohmann::json;

namespace {

json token_to_wire(const std::string& token) { return valid_utf8(token) ? json(token) : token_bytes(token); }

bool token_from_wire(const json& j, std::string& out) {
  if (j.is_string()) {
    out = j.get<std::string>();
    return true;
  }
  if (!j.is_array()) return false;
  out.clear();
  for (const auto& b : j) {
    if (!b.is_number_integer() || b.get<int64_t>() < 0 || b.get<int64_t>() > 255) return false;
    out += static_cast<char>(b.get<int>());
  }
  return true;
}

// [token, logprob] into `out`; false for another shape.
bool pair_from_wire(const json& j, TokenLogprob& out) {
  return j.is_array() && j.size() >= 2 && j[1].is_number() && token_from_wire(j[0], out.token) &&
         (out.logprob = j[1].get<double>(), true);
}

}  // namespace

json logprobs_to_wire(const std::vector<Logprob>& entries) {
  json out = json::array();
  for (const auto& e : entries) {
    json entry = {token_to_wire(e.chosen.token), e.chosen.logprob};
    if (!e.top.empty()) {
      json top = json::array();
      for (const auto& t : e.top) top.push_back({token_to_wire(t.token), t.logprob});
      entry.push_back(std::move(top));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<Logprob> logprobs_from_wire(const json& wire) {
  std::vector<Logprob> out;
  if (!wire.is_array()) return out;
  for (const auto& j : wire) {
    Logprob e;
    if (!pair_from_wire(j, e.chosen)) continue;
    if (j.size() > 2 && j[2].is_array())
      for (const auto& t : j[2])
        if (TokenLogprob top; pair_from_wire(t, top)) e.top.push_back(std::move(top));
    out.push_back(std::move(e));
  }
  return out;
}

json token_bytes(const std::string& token) {
  json out = json::array();
  for (unsigned char c : token) out.push_back(int{c});
  return out;
}

double shortest_double(float x) {
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, x).ptr;
  double d = x;
  std::from_chars(buf, end, d);
  return d;
}

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    // No overlong forms, surrogates or code points past U+10FFFF (what JSON text cannot hold).
    const unsigned char c1 = static_cast<unsigned char>(n > 1 ? s[i + 1] : 0);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90))
      return false;
    i += n;
  }
  return true;
}

}  // namespace ebb
