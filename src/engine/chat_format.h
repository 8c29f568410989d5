#pragma once
// Chat requests with tools and reasoning, through llama.cpp's common/chat: the model's Jinja
// template renders the tools, llama-common gives the grammar that keeps tool calls well formed
// and the parser that splits the output into content, reasoning and tool calls. This header
// uses only std types: llama-common vendors its own nlohmann-json, which cannot meet ebb's in one
// translation unit (see chat_template.h).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct llama_sampler;
struct llama_vocab;

namespace ebb::engine {

struct ToolCall {
  std::string name;
  std::string arguments;  // JSON text
  std::string id;         // may be empty
};

// One message of the conversation, as the chat template sees it.
struct ChatTurn {
  std::string role, content;
  std::string thinking;  // an assistant turn's reasoning
  std::vector<ToolCall> tool_calls;
  std::string tool_name, tool_call_id;  // a "tool" turn: which call it answers
};

enum class Think { Default, Off, On };

// A function the model may call.
struct ToolSpec {
  std::string name, description;
  std::string parameters;  // JSON schema text
};

struct ChatRequest {
  std::vector<ChatTurn> messages;
  std::vector<ToolSpec> tools;
  std::string tool_choice = "auto";  // "auto", "none" or "required"
  Think think = Think::Default;
  std::string reasoning_effort;  // "low", "medium", "high", or "" for the template's default
  std::string json_schema;       // the request's format as a schema (JSON text), "" for none
};

// The generated text, split.
struct ParsedMessage {
  std::string content, thinking;
  std::vector<ToolCall> tool_calls;
};

class ChatOutputParser {
 public:
  struct Impl;
  explicit ChatOutputParser(std::unique_ptr<Impl> impl);
  ~ChatOutputParser();
  // Parses everything generated so far. `partial`: more may come (an unfinished tool call is
  // left out, and text that may open one is held back).
  ParsedMessage parse(const std::string& generated, bool partial) const;

 private:
  std::unique_ptr<Impl> impl_;
};

// What to decode and how to constrain and read the output.
struct ChatPrompt {
  std::string prompt;
  // The grammar that keeps tool calls (and a format schema) well formed; "" for none. A lazy
  // grammar applies from the first trigger on (the model may answer in plain text first).
  std::string grammar;
  bool grammar_lazy = false;
  std::vector<std::string> trigger_patterns;
  std::vector<int32_t> trigger_tokens;
  std::string generation_prompt;   // the template's opening of the assistant turn
  std::vector<std::string> stops;  // stop strings the format adds
  std::shared_ptr<const ChatOutputParser> parser;
};

// The grammar sampler of a ChatPrompt (nullptr when it has no grammar); throws
// std::runtime_error when llama.cpp rejects the grammar.
llama_sampler* chat_grammar_sampler(const llama_vocab* vocab, const ChatPrompt& chat);

}  // namespace ebb::engine
