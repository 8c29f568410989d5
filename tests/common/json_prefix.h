#pragma once
// Checks that streamed text is JSON so far: what a grammar-constrained generation must produce
// even when it stops at num_predict.
#include <string>

#include <nlohmann/json.hpp>

namespace ebb::test {

// True when `text` is JSON or could become JSON by appending characters: the parser only fails
// once it runs past the end of the input.
inline bool is_json_prefix(const std::string& text) {
  using json = nlohmann::json;
  struct Sax : json::json_sax_t {
    size_t error_at = 0;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception&) override {
      error_at = pos;
      return false;
    }
  } sax;
  json::sax_parse(text, &sax);
  return sax.error_at == 0 || sax.error_at > text.size();
}

}  // namespace ebb::test
