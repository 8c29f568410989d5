// The bad-input matrix (issue 13 §2): every route that takes a body (src/api/*routes.cpp) against
// each class of bad input. Each answer must be a 4xx JSON error ({"error": "..."}, on /v1 OpenAI's
// {"error": {"message": ...}}), never a 500, a crash or a hang, and the server must answer the
// next normal request. What Ollama accepts (unknown options and fields, a negative num_predict)
// ebb accepts too.
#include <string>
#include <vector>

#include "serve_fixture.h"

namespace ebb::test {
namespace {

// A route and a valid body for it, which the tests break one field at a time.
struct Route {
  std::string method;  // "POST" or "DELETE"
  std::string path;
  json body;
};

const json kOneToken = {{"num_predict", 1}, {"temperature", 0}};
const json kUserHi = json::array({{{"role", "user"}, {"content", "hi"}}});

// Every route with a JSON body. Store writes name models of their own ("me/…"), never "tiny".
const std::vector<Route>& routes() {
  static const std::vector<Route> all = {
      {"POST", "/api/generate", {{"model", "tiny"}, {"prompt", "hi"}, {"stream", false}, {"options", kOneToken}}},
      {"POST", "/api/chat", {{"model", "tiny"}, {"messages", kUserHi}, {"stream", false}, {"options", kOneToken}}},
      {"POST", "/api/embed", {{"model", "tiny"}, {"input", "hi"}}},
      {"POST", "/api/embeddings", {{"model", "tiny"}, {"prompt", "hi"}}},
      {"POST", "/api/show", {{"model", "tiny"}}},
      {"POST", "/api/create", {{"model", "me/made"}, {"from", "tiny"}, {"stream", false}}},
      {"POST", "/api/copy", {{"source", "tiny"}, {"destination", "me/copied"}}},
      {"DELETE", "/api/delete", {{"model", "me/nothing"}}},
      {"POST", "/api/pull", {{"model", "me/nothing"}, {"stream", false}}},
      {"POST", "/api/push", {{"model", "me/nothing"}, {"stream", false}}},
      {"POST", "/api/models/load", {{"model", "tiny"}}},
      {"POST", "/api/models/unload", {{"model", "tiny"}}},
      {"POST", "/api/models/release-kv", {{"model", "tiny"}}},
      {"POST", "/api/models/pin", {{"model", "tiny"}, {"pinned", false}}},
      {"POST", "/v1/chat/completions", {{"model", "tiny"}, {"messages", kUserHi}, {"max_tokens", 1}}},
      {"POST", "/v1/completions", {{"model", "tiny"}, {"prompt", "hi"}, {"max_tokens", 1}}},
      {"POST", "/v1/embeddings", {{"model", "tiny"}, {"input", "hi"}}},
      {"POST", "/v1/responses", {{"model", "tiny"}, {"input", "hi"}, {"max_output_tokens", 1}}},
  };
  return all;
}

const Route& route(const std::string& path) {
  for (const Route& r : routes())
    if (r.path == path) return r;
  throw std::runtime_error("no route " + path);
}

// The routes whose model is named by "model" (copy names its two by "source" and "destination").
std::vector<Route> model_routes() {
  std::vector<Route> out;
  for (const Route& r : routes())
    if (r.body.contains("model")) out.push_back(r);
  return out;
}

struct Answer {
  int status = 0;  // 0: no answer (a hang past the timeout, or a crash)
  std::string body;
};

class BadInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch_dir("ebb-test-bad-input"));
    fs::copy_file(models_dir() / "tiny.gguf", *dir_ / "tiny.gguf");
    server_ = new Server({}, *dir_);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  // Each class ends with the server alive and serving.
  void TearDown() override { expect_serves_next_request(); }

  static Answer send(const Route& r, const std::string& body) {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(60, 0);  // a hang is a failure, not a stuck test
    const auto res =
        r.method == "DELETE" ? c.Delete(r.path, body, "application/json") : c.Post(r.path, body, "application/json");
    if (!res) return {};
    return {res->status, res->body};
  }

  // A 4xx JSON error in the route's shape.
  static void expect_client_error(const Route& r, const std::string& body, const Answer& a) {
    SCOPED_TRACE(r.method + " " + r.path + " " + body.substr(0, 200));
    EXPECT_GE(a.status, 400) << a.body;
    EXPECT_LT(a.status, 500) << a.body;
    const json answer = json::parse(a.body, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << a.body;
    const json error = answer.value("error", json());
    const bool openai = r.path.starts_with("/v1/");
    const json message = openai && error.is_object() ? error.value("message", json()) : error;
    EXPECT_TRUE(message.is_string() && !message.get<std::string>().empty()) << a.body;
    if (openai) {
      EXPECT_EQ(error.value("type", ""), "invalid_request_error") << a.body;
    }
  }

  static void expect_rejected(const Route& r, const std::string& body) { expect_client_error(r, body, send(r, body)); }
  static void expect_rejected(const Route& r, const json& body) { expect_rejected(r, body.dump()); }

  // `r`'s valid body with `field` set to `value`.
  static json with(const Route& r, const std::string& field, const json& value) {
    json body = r.body;
    body[field] = value;
    return body;
  }

  static void expect_serves_next_request() {
    ASSERT_TRUE(process_alive(server_->pid()));
    const json body = {{"model", "tiny"}, {"prompt", "hi"}, {"stream", false}, {"options", kOneToken}};
    const Answer a = send(route("/api/generate"), body.dump());
    EXPECT_EQ(a.status, 200) << a.body;
  }

  static inline fs::path* dir_ = nullptr;
  static inline Server* server_ = nullptr;
};

TEST_F(BadInput, InvalidJsonIs400) {
  for (const Route& r : routes())
    for (const std::string body :
         {"{not json", "", "{\"model\": \"tiny\",}", "{\"model\": \"tiny\"", "[1, 2]", "\"tiny\"", "null", "42"}) {
      const Answer a = send(r, body);
      expect_client_error(r, body, a);
      EXPECT_EQ(a.status, 400) << r.path << " " << body;
    }
}

TEST_F(BadInput, WrongTypesAre400) {
  // A model named by something other than a string.
  for (const Route& r : model_routes())
    for (const json& model : {json(5), json::array(), json::object(), json(true)})
      expect_rejected(r, with(r, "model", model));

  // Options of the wrong type, on the routes that take them.
  const std::vector<json> bad_options = {json::array(),
                                         "x",
                                         {{"temperature", "hot"}},
                                         {{"num_ctx", "4096"}},
                                         {{"stop", 5}},
                                         {{"stop", {1, 2}}},
                                         {{"seed", 1.5}},
                                         {{"grammar", 5}}};
  // Each route's own fields, one at a time.
  struct Case {
    const char* path;
    const char* field;
    json value;
  };
  const std::vector<Case> cases = {
      {"/api/generate", "prompt", 5},
      {"/api/generate", "system", json::array()},
      {"/api/generate", "raw", "yes"},
      {"/api/generate", "stream", "no"},
      {"/api/generate", "keep_alive", json::array({1})},
      {"/api/generate", "keep_alive", "soon"},
      {"/api/generate", "format", 5},
      {"/api/generate", "format", "yaml"},
      {"/api/generate", "template", 5},
      {"/api/generate", "template", "{{ .Foo"},
      {"/api/generate", "think", 5},
      {"/api/generate", "think", "extreme"},
      {"/api/generate", "suffix", 5},
      {"/api/generate", "logprobs", "x"},
      {"/api/generate", "top_logprobs", "x"},
      {"/api/generate", "top_logprobs", 21},
      {"/api/generate", "images", "x"},
      {"/api/generate", "truncate", "x"},
      {"/api/chat", "messages", "x"},
      {"/api/chat", "messages", 5},
      {"/api/chat", "messages", json::array({5})},
      {"/api/chat", "messages", json::parse(R"([{"role": 5, "content": "hi"}])")},
      {"/api/chat", "messages", json::parse(R"([{"role": "user", "content": 5}])")},
      {"/api/chat", "messages", json::parse(R"([{"role": "user", "content": "hi", "tool_calls": "x"}])")},
      {"/api/chat", "messages", json::parse(R"([{"role": "user", "content": "hi", "tool_calls": [5]}])")},
      {"/api/chat", "messages", json::parse(R"([{"role": "user", "content": "hi", "images": "x"}])")},
      {"/api/chat", "tools", "x"},
      {"/api/chat", "tools", json::array({5})},
      {"/api/chat", "tools", json::parse(R"([{"type": 5, "function": {"name": "f"}}])")},
      {"/api/chat", "tools", json::parse(R"([{"type": "function", "function": {"name": 5}}])")},
      {"/api/chat", "tool_choice", 5},
      {"/api/chat", "think", "extreme"},
      {"/api/chat", "stream", 1},
      {"/api/embed", "input", 5},
      {"/api/embed", "input", json::array({5.5})},
      {"/api/embed", "input", json::object()},
      {"/api/embed", "truncate", "x"},
      {"/api/embed", "dimensions", "x"},
      {"/api/embed", "dimensions", -1},
      {"/api/embed", "keep_alive", json::object()},
      {"/api/embeddings", "prompt", 5},
      {"/api/embeddings", "prompt", json::array({"a"})},
      {"/api/show", "verbose", "x"},
      {"/api/show", "system", 5},
      {"/api/show", "name", 5},
      {"/api/create", "from", 5},
      {"/api/create", "files", "x"},
      {"/api/create", "files", json::parse(R"({"a.gguf": 5})")},
      {"/api/create", "files", json{{"../a.gguf", "sha256:" + std::string(64, 'a')}}},
      {"/api/create", "parameters", "x"},
      {"/api/create", "parameters", json::parse(R"({"num_ctx": "big"})")},
      {"/api/create", "template", 5},
      {"/api/create", "system", 5},
      {"/api/create", "messages", "x"},
      {"/api/create", "messages", json::array({5})},
      {"/api/create", "license", 5},
      {"/api/create", "quantize", 5},
      {"/api/create", "quantize", "q3_zz"},
      {"/api/create", "stream", "x"},
      {"/api/copy", "source", 5},
      {"/api/copy", "destination", json::array()},
      {"/api/copy", "source", json::object()},
      {"/api/pull", "insecure", "x"},
      {"/api/pull", "stream", "x"},
      {"/api/push", "insecure", "x"},
      {"/api/push", "stream", "x"},
      {"/api/models/load", "keep_alive", json::array()},
      {"/api/models/load", "keep_alive", "soon"},
      {"/api/models/unload", "tier", 5},
      {"/api/models/unload", "tier", "attic"},
      {"/api/models/pin", "pinned", "x"},
      {"/v1/chat/completions", "messages", "x"},
      {"/v1/chat/completions", "messages", json::array()},
      {"/v1/chat/completions", "messages", json::parse(R"([{"role": "user", "content": 5}])")},
      {"/v1/chat/completions", "messages", json::parse(R"([{"role": "wizard", "content": "hi"}])")},
      {"/v1/chat/completions", "messages", json::parse(R"([{"role": "user", "content": [{"type": 5}]}])")},
      {"/v1/chat/completions", "messages",
       json::parse(R"([{"role": "assistant", "content": "hi", "tool_calls": [{"type": 5}]}])")},
      {"/v1/chat/completions", "temperature", "hot"},
      {"/v1/chat/completions", "temperature", 5},
      {"/v1/chat/completions", "max_tokens", -1},
      {"/v1/chat/completions", "max_tokens", 1e12},
      {"/v1/chat/completions", "max_tokens", "1"},
      {"/v1/chat/completions", "stream", "x"},
      {"/v1/chat/completions", "stream_options", 5},
      {"/v1/chat/completions", "stop", 5},
      {"/v1/chat/completions", "n", 2},
      {"/v1/chat/completions", "response_format", "json"},
      {"/v1/chat/completions", "response_format", json::parse(R"({"type": 5})")},
      {"/v1/chat/completions", "tools", "x"},
      {"/v1/chat/completions", "tool_choice", 5},
      {"/v1/chat/completions", "logprobs", "x"},
      {"/v1/chat/completions", "top_logprobs", 100},
      {"/v1/chat/completions", "seed", 1.5},
      {"/v1/chat/completions", "reasoning_effort", 5},
      {"/v1/chat/completions", "keep_alive", json::array()},
      {"/v1/completions", "prompt", 5},
      {"/v1/completions", "prompt", json::array()},
      {"/v1/completions", "prompt", json::array({1, 2})},
      {"/v1/completions", "max_tokens", 0},
      {"/v1/completions", "logprobs", 10},
      {"/v1/completions", "echo", true},
      {"/v1/completions", "suffix", 5},
      {"/v1/completions", "best_of", 2},
      {"/v1/embeddings", "input", 5},
      {"/v1/embeddings", "input", json::array()},
      {"/v1/embeddings", "input", json::array({""})},
      {"/v1/embeddings", "encoding_format", "hex"},
      {"/v1/embeddings", "dimensions", "x"},
      {"/v1/responses", "input", 5},
      {"/v1/responses", "input", json::array({5})},
      {"/v1/responses", "input", json::parse(R"([{"type": "bogus"}])")},
      {"/v1/responses", "input", json::parse(R"([{"role": "user", "content": [{"type": 5}]}])")},
      {"/v1/responses", "instructions", 5},
      {"/v1/responses", "max_output_tokens", -1},
      {"/v1/responses", "tools", "x"},
      {"/v1/responses", "tools", json::parse(R"([{"type": 5}])")},
      {"/v1/responses", "text", "x"},
      {"/v1/responses", "reasoning", "x"},
      {"/v1/responses", "previous_response_id", "resp_1"},
  };
  for (const Case& c : cases) {
    const Route& r = route(c.path);
    expect_rejected(r, with(r, c.field, c.value));
  }
  for (const std::string path : {"/api/generate", "/api/chat", "/api/embed", "/api/embeddings"}) {
    const Route& r = route(path);
    for (const json& options : bad_options) expect_rejected(r, with(r, "options", options));
  }
}

TEST_F(BadInput, MissingRequiredFieldsAre400) {
  for (const Route& r : routes()) {
    const Answer a = send(r, "{}");
    expect_client_error(r, "{}", a);
    EXPECT_EQ(a.status, 400) << r.path << ": " << a.body;
  }
  const std::vector<std::pair<std::string, json>> cases = {
      {"/v1/chat/completions", {{"model", "tiny"}}},
      {"/v1/completions", {{"model", "tiny"}}},
      {"/v1/embeddings", {{"model", "tiny"}}},
      {"/v1/responses", {{"model", "tiny"}}},
      {"/api/embed", {{"input", "hi"}}},
      {"/api/copy", {{"source", "tiny"}}},
      {"/api/copy", {{"destination", "me/copied"}}},
      {"/api/create", {{"from", "tiny"}, {"stream", false}}},
  };
  for (const auto& [path, body] : cases) expect_rejected(route(path), body);
}

// Options no runner can serve: a context or batch that is negative, zero or beyond int32, more
// threads than ggml has, numbers beyond what their fields hold.
TEST_F(BadInput, NumbersThatCannotBeServedAre400) {
  const std::vector<json> options = {
      {{"num_ctx", -1}},     {{"num_ctx", 1e12}},   {{"num_ctx", 1000000000000}}, {{"num_batch", 0}},
      {{"num_batch", -1}},   {{"num_batch", 1e12}}, {{"num_thread", 1000000}},    {{"top_k", 1e300}},
      {{"seed", 1e19}},      {{"num_gpu", 1e10}},   {{"num_predict", 2.5}},       {{"repeat_last_n", 1e10}},
      {{"num_keep", -1e10}},
  };
  for (const std::string path : {"/api/generate", "/api/chat", "/api/embed", "/api/embeddings"}) {
    const Route& r = route(path);
    for (const json& o : options) {
      const json body = with(r, "options", o);
      const Answer a = send(r, body.dump());
      expect_client_error(r, body.dump(), a);
      EXPECT_EQ(a.status, 400) << path << " " << o.dump() << ": " << a.body;
    }
  }
  // A stored model's parameters are options too: create refuses what its requests would.
  const Route& create = route("/api/create");
  for (const json& o : options) expect_rejected(create, with(create, "parameters", o));
}

// As Ollama: unknown options and fields are ignored, a negative num_predict is no limit (here a
// grammar ends the answer), and so is one larger than any context.
TEST_F(BadInput, WhatOllamaAcceptsIsServed) {
  const json grammar = "root ::= \"ok\"";
  const std::vector<std::pair<std::string, json>> cases = {
      {"/api/generate", {{"options", {{"num_predict", 1}, {"no_such_option", 1}, {"mirostat", 2}}}}},
      {"/api/generate", {{"context", {1, 2, 3}}, {"no_such_field", true}}},
      {"/api/generate", {{"options", {{"num_predict", -1}, {"grammar", grammar}}}}},
      {"/api/generate", {{"options", {{"num_predict", -2}, {"grammar", grammar}}}}},
      {"/api/generate", {{"options", {{"num_predict", 1e12}, {"grammar", grammar}}}}},
      {"/api/generate", {{"options", {{"num_predict", 1}, {"num_thread", -1}, {"num_ctx", 0}}}}},
      {"/api/chat", {{"options", {{"num_predict", -1}, {"grammar", grammar}, {"unknown", "x"}}}}},
      {"/api/embed", {{"options", {{"no_such_option", 1}}}}},
      {"/v1/chat/completions", {{"user", "u"}, {"no_such_field", 1}}},
  };
  for (const auto& [path, changes] : cases) {
    const Route& r = route(path);
    json body = r.body;
    for (const auto& [key, value] : changes.items()) body[key] = value;
    const Answer a = send(r, body.dump());
    EXPECT_EQ(a.status, 200) << path << " " << body.dump() << ": " << a.body;
    const json answer = json::parse(a.body, nullptr, false);
    if (path == "/api/generate" && body["options"].value("grammar", "") == grammar) {
      EXPECT_EQ(answer.value("response", ""), "ok") << a.body;
    }
  }
}

TEST_F(BadInput, InvalidUtf8Is400) {
  // Raw bytes that are not UTF-8 (a lone continuation byte, a cut sequence, an encoded
  // surrogate), and an escaped lone surrogate, which no UTF-8 text can hold.
  const std::vector<std::string> bad = {"\xff\xfe", "caf\xc3", "\xed\xa0\x80", "\\ud800"};
  const std::vector<std::pair<std::string, std::string>> text_fields = {
      {"/api/generate", "prompt"}, {"/api/embed", "input"},       {"/api/embeddings", "prompt"},
      {"/api/show", "system"},     {"/v1/completions", "prompt"}, {"/v1/embeddings", "input"},
      {"/v1/responses", "input"},  {"/api/create", "system"},
  };
  // `r`'s body with `field` holding the bytes of `text` as they are (json would escape them).
  const auto body_with = [](const Route& r, const std::string& field, const std::string& text) {
    json body = r.body;
    body[field] = "@@TEXT@@";
    std::string out = body.dump();
    out.replace(out.find("@@TEXT@@"), 8, text);
    return out;
  };
  for (const std::string& text : bad) {
    for (const auto& [path, field] : text_fields) {
      const Route& r = route(path);
      expect_rejected(r, body_with(r, field, "hello " + text));
    }
    for (const std::string path : {"/api/chat", "/v1/chat/completions"}) {
      const Route& r = route(path);
      json body = r.body;
      body["messages"][0]["content"] = "@@TEXT@@";
      std::string raw = body.dump();
      raw.replace(raw.find("@@TEXT@@"), 8, "hello " + text);
      expect_rejected(r, raw);
    }
    for (const Route& r : model_routes()) expect_rejected(r, body_with(r, "model", "tiny" + text));
  }
}

TEST_F(BadInput, InvalidModelNamesAre400) {
  const std::vector<std::string> names = {
      "../tiny",
      "..",
      "tiny/../../etc/passwd",
      "/tiny",
      "me/../tiny",
      std::string("ti\0ny", 5),
      std::string("tiny\0", 5),
      "tiny\n",
      std::string(256, 'a'),
      "me/" + std::string(300, 'm'),
      std::string(300, 'h') + "/me/m:t",
      "tiny:../x",
      "me//tiny",
      "",
  };
  for (const std::string& name : names) {
    for (const Route& r : model_routes()) {
      const Answer a = send(r, with(r, "model", name).dump());
      expect_client_error(r, name, a);
      EXPECT_EQ(a.status, 400) << r.path << " '" << name << "': " << a.body;
    }
    const Route& copy = route("/api/copy");
    expect_rejected(copy, with(copy, "source", name));
    expect_rejected(copy, with(copy, "destination", name));
    const Route& create = route("/api/create");
    expect_rejected(create, with(create, "from", name));
  }
  // A '/' between namespace and model is a valid name: a model nobody has is a 404.
  for (const std::string path : {"/api/generate", "/api/show", "/api/models/load", "/api/delete", "/v1/completions"}) {
    const Route& r = route(path);
    const Answer a = send(r, with(r, "model", "me/nothing").dump());
    EXPECT_EQ(a.status, 404) << path << ": " << a.body;
  }
}

TEST_F(BadInput, BadBlobDigestsAre400) {
  const Route blob{"POST", "", json()};
  const std::vector<std::string> digests = {"sha256:zz", "sha256:" + std::string(63, 'a'),
                                            "sha256:" + std::string(64, 'g'), "md5:abc", "sha256%3A.."};
  for (const std::string& digest : digests) {
    Route r = blob;
    r.path = "/api/blobs/" + digest;
    expect_rejected(r, std::string("bytes"));
  }
}

}  // namespace
}  // namespace ebb::test
