#pragma once
// Turns the chat's input lines into messages and commands, as ollama's `run` does: a line that
// starts with `"""` opens a message that runs to the line that ends with `"""` (one line may do
// both); pasted lines join the next typed line; a line that starts with "/" is a command; and
// `/set system """…"""` sets the system message over several lines. Unlike ollama, a `"""` on a line
// of its own adds no empty first or last line.
#include <string>
#include <string_view>

namespace ebb::cli {

class InputAssembler {
 public:
  struct Step {
    enum class Kind {
      kNone,     // nothing to do (an empty line)
      kMore,     // more lines are needed: prompt with "... "
      kMessage,  // text is the user's message
      kCommand,  // text is a command line ("/set ...")
      kSystem,   // text is the new system message
    };
    Kind kind = Kind::kNone;
    std::string text;
  };

  // One submitted line; `pasting`: it came from a bracketed paste.
  Step feed(std::string_view line, bool pasting = false);
  // `/set system REST`: a system message, or (REST starts with `"""`) the first line of one.
  Step begin_system(std::string_view rest);

  // Whether the next line continues a message (the "... " prompt).
  bool continuing() const { return mode_ != Mode::kNone || !buf_.empty(); }
  void reset();

 private:
  enum class Mode { kNone, kMessage, kSystem };
  Step finish(Step::Kind kind);

  Mode mode_ = Mode::kNone;
  std::string buf_;
};

}  // namespace ebb::cli
