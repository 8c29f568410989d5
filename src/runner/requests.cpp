#include "runner/requests.h"

#include "common/go_template.h"
#include "common/token_logprob.h"
#include "engine/engine.h"
#include "runner/chat_request.h"
#include "runner/insert_prompt.h"
#include "runner/prompt.h"
#include "runner/request_error.h"

namespace ebb::runner {

using json = nlohmann::json;

namespace {

// Runs `f`, turning the errors a request can cause into RequestError.
template <class F>
auto as_request_error(F&& f) {
  try {
    return f();
  } catch (const RequestError&) {
    throw;
  } catch (const json::exception& e) {
    throw RequestError(std::string("invalid request: ") + e.what());
  } catch (const std::invalid_argument& e) {  // OptionsError, TemplateError
    throw RequestError(e.what());
  }
}

engine::ChatPrompt render_chat(const engine::Engine& engine, const engine::ChatRequest& chat) {
  try {
    return engine.render_chat(chat);
  } catch (const std::invalid_argument& e) {  // what the template cannot render
    throw RequestError(e.what());
  } catch (const std::exception& e) {  // llama-common's template errors (a jinja runtime error)
    throw RequestError(std::string("the chat template failed: ") + e.what());
  }
}

std::string too_long(const char* what, size_t n, size_t n_ctx) {
  return std::string(what) + " is too long: " + std::to_string(n) + " tokens, context is " + std::to_string(n_ctx);
}

// An input given as token ids (OpenAI's embeddings accept them): each must be in the vocabulary.
std::vector<int32_t> token_ids(const engine::Engine& engine, const json& ids) {
  std::vector<int32_t> tokens;
  const int64_t n_vocab = engine.n_vocab();
  for (const auto& id : ids) {
    if (!id.is_number_integer()) throw RequestError("a token input must be an array of integers");
    const int64_t t = id.get<int64_t>();
    if (t < 0 || t >= n_vocab)
      throw RequestError("token " + std::to_string(t) + " is not in the vocabulary (0.." + std::to_string(n_vocab - 1) +
                         ")");
    tokens.push_back(static_cast<int32_t>(t));
  }
  return tokens;
}

}  // namespace

PendingRequest prepare_generate(const engine::Engine& engine, const json& msg) {
  PendingRequest r;
  r.kind = PendingRequest::Kind::Generate;
  r.id = msg.value("id", uint64_t{0});
  as_request_error([&] {
    r.options = sampling_from_json(msg.value("options", json::object()));
    r.truncate = msg.value("truncate", true);
    r.snapshots = msg.value("snapshots", false);
    r.logprobs = msg.value("logprobs", false);
    r.top_logprobs = msg.value("top_logprobs", 0);
    if (r.top_logprobs < 0 || r.top_logprobs > kMaxTopLogprobs)
      throw RequestError("top_logprobs must be between 0 and " + std::to_string(kMaxTopLogprobs));
    const bool insert =
        msg.value("mode", "") == "generate" && !msg.value("raw", false) && !msg.value("suffix", "").empty();
    if (insert) {
      r.prompt = insert_prompt(engine, msg);
    } else if (auto chat = chat_request_of(engine, msg)) {
      engine::ChatPrompt rendered = render_chat(engine, *chat);
      r.options.stop.insert(r.options.stop.end(), rendered.stops.begin(), rendered.stops.end());
      r.parser = rendered.parser;
      r.keep_thinking = chat->think != engine::Think::Off;
      r.prompt = engine.tokenize(rendered.prompt, true);
      r.chat = std::make_shared<engine::ChatPrompt>(std::move(rendered));
    } else {
      r.prompt = engine.tokenize(render_prompt(engine, msg), true);
    }
    return 0;
  });
  if (!r.truncate && r.prompt->size() >= engine.n_ctx_per_slot())
    throw RequestError(too_long("prompt", r.prompt->size(), engine.n_ctx_per_slot()));
  try {  // a "format" schema that does not convert, or a grammar llama.cpp rejects
    r.sampler = engine.make_sampler(r.options, r.chat.get());
    r.chat.reset();  // the grammar is in the sampler now
  } catch (const std::exception& e) {
    throw RequestError(e.what());
  }
  return r;
}

PendingRequest prepare_embed(const engine::Engine& engine, const json& msg) {
  if (engine.pooling() == engine::Pooling::Rank)
    throw RequestError("this model ranks documents; it does not produce embeddings");
  PendingRequest r;
  r.kind = PendingRequest::Kind::Embed;
  r.id = msg.value("id", uint64_t{0});
  const bool truncate = as_request_error([&] { return msg.value("truncate", true); });
  const json inputs = msg.value("inputs", json::array());
  constexpr const char* kInputs = "'inputs' must be an array of strings or of token id arrays";
  if (!inputs.is_array()) throw RequestError(kInputs);
  // A non-causal model sees a whole input at once: it must fit in one batch.
  const size_t limit = engine.causal_attention() ? engine.n_ctx_per_slot()
                                                 : std::min<size_t>(engine.n_ctx_per_slot(), engine.params().num_batch);
  for (const auto& in : inputs) {
    if (!in.is_string() && !in.is_array()) throw RequestError(kInputs);
    std::vector<int32_t> tokens = in.is_string() ? engine.tokenize(in.get<std::string>(), true) : token_ids(engine, in);
    if (tokens.empty()) {
      const engine::Token bos = engine.bos();
      if (bos == engine::kNoToken) throw RequestError("an input is empty");
      tokens.push_back(bos);
    }
    if (tokens.size() > limit) {
      if (!truncate) throw RequestError(too_long("input", tokens.size(), limit));
      tokens.resize(limit);
    }
    r.inputs.push_back(std::move(tokens));
  }
  return r;
}

}  // namespace ebb::runner
