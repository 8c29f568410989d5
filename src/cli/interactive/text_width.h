#pragma once
// UTF-8 text as a terminal shows it: code points and the columns each takes.
#include <cstddef>
#include <string>
#include <string_view>

namespace ebb::cli {

// The code points of UTF-8 text; a malformed byte becomes U+FFFD.
std::u32string utf8_decode(std::string_view text);
std::string utf8_encode(std::u32string_view text);
void utf8_append(std::string& out, char32_t c);

// Columns a code point takes on a terminal: 0 for combining marks and controls, 2 for East Asian
// wide and fullwidth characters and emoji, else 1.
int char_width(char32_t c);
int text_width(std::u32string_view text);
int text_width(std::string_view utf8);

}  // namespace ebb::cli
