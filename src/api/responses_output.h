#pragma once
// The "output" of one Responses API response, built from the generation's deltas in the order
// they come: a reasoning item for thinking, a message item for text, a function_call item per
// tool call; and the stream events that announce each step (response.output_item.added, the
// content or summary part, its text deltas, its .done events, response.output_item.done).
// Events are JSON objects with "type"; the shape numbers and frames them (api/responses_shape.h).
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/message_delta.h"

namespace ebb::api {

class ResponsesOutput {
 public:
  // A new id with the given prefix ("msg_", "rs_", "fc_", "call_").
  using IdSource = std::function<std::string(const std::string& prefix)>;
  explicit ResponsesOutput(IdSource ids) : ids_(std::move(ids)) {}

  // The events of one delta: its thinking, then its text, then its tool calls. Thinking after
  // text (or text after thinking) closes the open item and opens a new one.
  std::vector<nlohmann::json> add(const MessageDelta& delta);
  // Closes the open item. `complete` false (the output was cut) leaves a message "incomplete".
  // An output with no item at all gets an empty message, so every answer has one.
  std::vector<nlohmann::json> finish(bool complete);

  // The items so far, each as it stands ("in_progress" while open).
  nlohmann::json items() const;

 private:
  enum class Open { None, Reasoning, Message };
  void open(Open kind, std::vector<nlohmann::json>& events);
  void close(bool complete, std::vector<nlohmann::json>& events);
  void add_call(const nlohmann::json& call, std::vector<nlohmann::json>& events);
  nlohmann::json open_item(const char* status) const;

  IdSource ids_;
  nlohmann::json closed_ = nlohmann::json::array();  // the items done, in output order
  Open open_ = Open::None;
  std::string open_id_;
  std::string text_;  // the open item's text so far
};

}  // namespace ebb::api
