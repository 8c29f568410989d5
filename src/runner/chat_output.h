#pragma once
// Splits a parsed request's generated text into message deltas as it streams: content and
// reasoning go out as they grow; a tool call goes out once complete (when the next call starts,
// or at the end). The parser reads the whole text each time, so a prefix that may open a tool
// call is held back until the parser knows.
#include <memory>
#include <string>

#include "common/message_delta.h"
#include "engine/chat_format.h"

namespace ebb::runner {

class ChatOutput {
 public:
  // `keep_thinking`: false drops the reasoning (the request asked for none).
  ChatOutput(std::shared_ptr<const engine::ChatOutputParser> parser, bool keep_thinking)
      : parser_(std::move(parser)), keep_thinking_(keep_thinking) {}

  // `text`: the next safe text (runner TextStream output). Returns what is new to send.
  MessageDelta push(const std::string& text);
  // The generation ended: the rest, every tool call not sent yet included.
  MessageDelta finish();

 private:
  MessageDelta advance(bool partial);

  std::shared_ptr<const engine::ChatOutputParser> parser_;
  bool keep_thinking_;
  std::string generated_;
  size_t content_sent_ = 0, thinking_sent_ = 0, calls_sent_ = 0;
};

}  // namespace ebb::runner
