#include "api/responses_output.h"

#include "api/response_shape.h"

namespace ebb::api {

using json = nlohmann::json;

namespace {

json summary_part(const std::string& text) { return {{"type", "summary_text"}, {"text", text}}; }
json text_part(const std::string& text) {
  return {{"type", "output_text"}, {"text", text}, {"annotations", json::array()}};
}

}  // namespace

std::vector<json> ResponsesOutput::add(const MessageDelta& d) {
  std::vector<json> events;
  if (!d.thinking.empty()) {
    if (open_ != Open::Reasoning) open(Open::Reasoning, events);
    text_ += d.thinking;
    events.push_back({{"type", "response.reasoning_summary_text.delta"},
                      {"item_id", open_id_},
                      {"output_index", closed_.size()},
                      {"summary_index", 0},
                      {"delta", d.thinking}});
  }
  if (!d.content.empty()) {
    if (open_ != Open::Message) open(Open::Message, events);
    text_ += d.content;
    events.push_back({{"type", "response.output_text.delta"},
                      {"item_id", open_id_},
                      {"output_index", closed_.size()},
                      {"content_index", 0},
                      {"delta", d.content},
                      {"logprobs", json::array()}});
  }
  for (const auto& call : d.tool_calls) add_call(call, events);
  return events;
}

std::vector<json> ResponsesOutput::finish(bool complete) {
  std::vector<json> events;
  if (open_ == Open::None && closed_.empty()) open(Open::Message, events);
  close(complete, events);
  return events;
}

json ResponsesOutput::items() const {
  json all = closed_;
  if (open_ != Open::None) all.push_back(open_item("in_progress"));
  return all;
}

// The open item in its final form: a message with its text and `status`, or a reasoning item
// with its summary.
json ResponsesOutput::open_item(const char* status) const {
  if (open_ == Open::Reasoning)
    return {{"id", open_id_}, {"type", "reasoning"}, {"summary", json::array({summary_part(text_)})}};
  return {{"id", open_id_},
          {"type", "message"},
          {"status", status},
          {"role", "assistant"},
          {"content", json::array({text_part(text_)})}};
}

void ResponsesOutput::open(Open kind, std::vector<json>& events) {
  close(true, events);
  open_ = kind;
  open_id_ = ids_(kind == Open::Reasoning ? "rs_" : "msg_");
  text_.clear();
  const size_t index = closed_.size();
  if (kind == Open::Reasoning) {
    events.push_back({{"type", "response.output_item.added"},
                      {"output_index", index},
                      {"item", {{"id", open_id_}, {"type", "reasoning"}, {"summary", json::array()}}}});
    events.push_back({{"type", "response.reasoning_summary_part.added"},
                      {"item_id", open_id_},
                      {"output_index", index},
                      {"summary_index", 0},
                      {"part", summary_part("")}});
    return;
  }
  events.push_back({{"type", "response.output_item.added"},
                    {"output_index", index},
                    {"item",
                     {{"id", open_id_},
                      {"type", "message"},
                      {"status", "in_progress"},
                      {"role", "assistant"},
                      {"content", json::array()}}}});
  events.push_back({{"type", "response.content_part.added"},
                    {"item_id", open_id_},
                    {"output_index", index},
                    {"content_index", 0},
                    {"part", text_part("")}});
}

void ResponsesOutput::close(bool complete, std::vector<json>& events) {
  if (open_ == Open::None) return;
  const size_t index = closed_.size();
  const json base = {{"item_id", open_id_}, {"output_index", index}};
  json e1 = base, e2 = base;
  if (open_ == Open::Reasoning) {
    e1.update({{"type", "response.reasoning_summary_text.done"}, {"summary_index", 0}, {"text", text_}});
    e2.update({{"type", "response.reasoning_summary_part.done"}, {"summary_index", 0}, {"part", summary_part(text_)}});
  } else {
    e1.update(
        {{"type", "response.output_text.done"}, {"content_index", 0}, {"text", text_}, {"logprobs", json::array()}});
    e2.update({{"type", "response.content_part.done"}, {"content_index", 0}, {"part", text_part(text_)}});
  }
  json item = open_item(complete ? "completed" : "incomplete");
  events.push_back(std::move(e1));
  events.push_back(std::move(e2));
  events.push_back({{"type", "response.output_item.done"}, {"output_index", index}, {"item", item}});
  closed_.push_back(std::move(item));
  open_ = Open::None;
}

// A tool call as the runner parsed it ({"name", "arguments": object or text, "id"?}): a whole
// function_call item at once, its arguments in one delta.
void ResponsesOutput::add_call(const json& call, std::vector<json>& events) {
  close(true, events);
  const size_t index = closed_.size();
  const json args = call.contains("arguments") ? call["arguments"] : json::object();
  const std::string arguments = args.is_string() ? args.get<std::string>() : wire_json(args);
  json item = {{"id", ids_("fc_")},
               {"type", "function_call"},
               {"status", "in_progress"},
               {"call_id", call.value("id", json()).is_string() ? call["id"].get<std::string>() : ids_("call_")},
               {"name", call.value("name", "")},
               {"arguments", ""}};
  const std::string id = item["id"];
  events.push_back({{"type", "response.output_item.added"}, {"output_index", index}, {"item", item}});
  events.push_back({{"type", "response.function_call_arguments.delta"},
                    {"item_id", id},
                    {"output_index", index},
                    {"delta", arguments}});
  events.push_back({{"type", "response.function_call_arguments.done"},
                    {"item_id", id},
                    {"output_index", index},
                    {"name", item["name"]},
                    {"arguments", arguments}});
  item["status"] = "completed";
  item["arguments"] = arguments;
  events.push_back({{"type", "response.output_item.done"}, {"output_index", index}, {"item", item}});
  closed_.push_back(std::move(item));
}

}  // namespace ebb::api
