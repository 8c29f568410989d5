#pragma once
// ASCII case folding for protocol text (digests, hosts, header names, Modelfile commands): never
// the locale's, so a Turkish 'I' cannot change what a name means.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace ebb {

inline char ascii_lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

inline bool ascii_iequal(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

}  // namespace ebb
