#include "cli/interactive/input_assembler.h"

namespace ebb::cli {

namespace {
constexpr std::string_view kQuotes = R"(""")";

bool cut_suffix(std::string_view& s) {
  if (s.size() < kQuotes.size() || s.substr(s.size() - kQuotes.size()) != kQuotes) return false;
  s.remove_suffix(kQuotes.size());
  return true;
}
}  // namespace

void InputAssembler::reset() {
  mode_ = Mode::kNone;
  buf_.clear();
}

InputAssembler::Step InputAssembler::finish(Step::Kind kind) {
  Step step{kind, std::move(buf_)};
  reset();
  if (kind == Step::Kind::kMessage && step.text.empty()) step.kind = Step::Kind::kNone;
  return step;
}

InputAssembler::Step InputAssembler::feed(std::string_view line, bool pasting) {
  if (mode_ != Mode::kNone) {
    const bool closed = cut_suffix(line);
    buf_ += line;
    if (!closed) {
      buf_ += '\n';
      return {Step::Kind::kMore, {}};
    }
    // A closing `"""` on a line of its own ends the text; it adds no empty last line.
    if (line.empty() && !buf_.empty() && buf_.back() == '\n') buf_.pop_back();
    return finish(mode_ == Mode::kSystem ? Step::Kind::kSystem : Step::Kind::kMessage);
  }
  if (line.substr(0, kQuotes.size()) == kQuotes) {
    line.remove_prefix(kQuotes.size());
    const bool closed = cut_suffix(line);
    buf_ += line;
    if (!closed) {
      if (!line.empty()) buf_ += '\n';  // an opening `"""` on a line of its own adds no empty first line
      mode_ = Mode::kMessage;
      return {Step::Kind::kMore, {}};
    }
    return finish(Step::Kind::kMessage);
  }
  if (pasting) {
    buf_ += line;
    buf_ += '\n';
    return {Step::Kind::kMore, {}};
  }
  if (buf_.empty() && !line.empty() && line[0] == '/') return {Step::Kind::kCommand, std::string(line)};
  buf_ += line;
  return finish(Step::Kind::kMessage);
}

InputAssembler::Step InputAssembler::begin_system(std::string_view rest) {
  reset();
  if (rest.substr(0, kQuotes.size()) != kQuotes) return {Step::Kind::kSystem, std::string(rest)};
  rest.remove_prefix(kQuotes.size());
  const bool closed = cut_suffix(rest);
  buf_ = rest;
  if (closed) return finish(Step::Kind::kSystem);
  if (!buf_.empty()) buf_ += '\n';
  mode_ = Mode::kSystem;
  return {Step::Kind::kMore, {}};
}

}  // namespace ebb::cli
