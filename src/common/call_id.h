#pragma once
// Tool call ids for templates that accept only one shape of id. Mistral's templates raise an error
// unless every id is 9 letters or digits, while OpenAI's clients send ids like
// "call_8f3kD2x9QmZ1LsWv": such ids are mapped to 9 characters when the prompt is rendered.
#include <string>
#include <string_view>

namespace ebb {

// `id` itself when it is 9 ASCII letters or digits; else 9 of them derived from `id` (a 64-bit
// hash in base 62), the same for the same id, so that a call and the tool result that answers it
// still match, and so that a conversation's earlier turns render the same tokens every time
// (its KV prefix is reused).
std::string nine_char_call_id(std::string_view id);

}  // namespace ebb
