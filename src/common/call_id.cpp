#include "common/call_id.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace ebb {

std::string nine_char_call_id(std::string_view id) {
  const bool fits = id.size() == 9 && std::all_of(id.begin(), id.end(),
                                                  [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
  if (fits) return std::string(id);
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (const char c : id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out(9, '0');
  for (char& c : out) {  // 62^9 > 2^53: 9 digits keep most of the hash
    c = kDigits[h % 62];
    h /= 62;
  }
  return out;
}

}  // namespace ebb
