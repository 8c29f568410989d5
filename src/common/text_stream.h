#pragma once
// Turns decoded token pieces into safe-to-send text:
//  - holds back an incomplete UTF-8 sequence until it completes;
//  - holds back a tail that could be the start of a stop string;
//  - reports when a stop string appeared, cutting the text just before it.
#include <string>
#include <vector>

namespace ebb {

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stops = {}) : stops_(std::move(stops)) {}

  // Appends a piece; returns the text that is now safe to emit.
  std::string push(const std::string& piece);
  // Whether a stop string was seen (the stream must end).
  bool stopped() const { return stopped_; }
  // At the end of generation: whatever is still held back (never the stop string itself).
  std::string flush();

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

// Length of the longest prefix of s that is complete UTF-8 (incomplete tail excluded).
size_t complete_utf8_prefix(const std::string& s);

}  // namespace ebb
