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
    if (openai) EXPECT_EQ(error.value("type", ""), "invalid_request_error") << a.body;
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

  // Each route's own fields.
  const std::vector<json> bad_options = {json::array(),
                                         "x",
                                         {{"temperature", "hot"}},
                                         {{"num_ctx", "4096"}},
                                         {{"stop", 5}},
                                         {{"stop", {1, 2}}},
                                         {{"seed", 1.5}},
                                         {{"grammar", 5}}};
  const std::vector<std::pair<std::string, std::vector<std::pair<std::string, json>>>>
      cases = {{"/api/generate",
                {{"prompt", 5},
                 {"system", json::array()},
                 {"raw", "yes"},
                 {"stream", "no"},
                 {"keep_alive", {1}},
                 {"keep_alive", "soon"},
                 {"format", 5},
                 {"format", "yaml"},
                 {"template", 5},
                 {"template", "{{ .Foo"},
                 {"think", 5},
                 {"think", "extreme"},
                 {"suffix", 5},
                 {"logprobs", "x"},
                 {"top_logprobs", "x"},
                 {"top_logprobs", 21},
                 {"images", "x"},
                 {"truncate", "x"}}},
               {"/api/chat",
                {{"messages", "x"},
                 {"messages", 5},
                 {"messages", {5}},
                 {"messages", {{{"role", 5}, {"content", "hi"}}}},
                 {"messages", {{{"role", "user"}, {"content", 5}}}},
                 {"messages", {{{"role", "user"}, {"content", "hi"}, {"tool_calls", "x"}}}},
                 {"messages", {{{"role", "user"}, {"content", "hi"}, {"tool_calls", {5}}}}},
                 {"messages", {{{"role", "user"}, {"content", "hi"}, {"images", "x"}}}},
                 {"tools", "x"},
                 {"tools", {5}},
                 {"tools", {{{"type", 5}, {"function", {{"name", "f"}}}}}},
                 {"tools", {{{"type", "function"}, {"function", {{"name", 5}}}}}},
                 {"tool_choice", 5},
                 {"think", "extreme"},
                 {"stream", 1}}},
               {"/api/embed",
                {{"input", 5},
                 {"input", {5.5}},
                 {"input", json::object()},
                 {"truncate", "x"},
                 {"dimensions", "x"},
                 {"dimensions", -1},
                 {"keep_alive", json::object()}}},
               {"/api/embeddings", {{"prompt", 5}, {"prompt", {"a"}}}},
               {"/api/show", {{"verbose", "x"}, {"system", 5}, {"name", 5}}},
               {"/api/create",
                {{"from", 5},
                 {"files", "x"},
                 {"files", {{"a.gguf", 5}}},
                 {"files", {{"../a.gguf", "sha256:" + std::string(64, 'a')}}},
                 {"parameters", "x"},
                 {"parameters", {{"num_ctx", "big"}}},
                 {"template", 5},
                 {"system", 5},
                 {"messages", "x"},
                 {"messages", {5}},
                 {"license", 5},
                 {"quantize", 5},
                 {"quantize", "q3_zz"},
                 {"stream", "x"}}},
               {"/api/copy", {{"source", 5}, {"destination", json::array()}, {"source", json::object()}}},
               {"/api/pull", {{"insecure", "x"}, {"stream", "x"}}},
               {"/api/push", {{"insecure", "x"}, {"stream", "x"}}},
               {"/api/models/load", {{"keep_alive", json::array()}, {"keep_alive", "soon"}}},
               {"/api/models/unload", {{"tier", 5}, {"tier", "attic"}}},
               {"/api/models/pin", {{"pinned", "x"}}},
               {"/v1/chat/completions",
                {{"messages", "x"},
                 {"messages", json::array()},
                 {"messages", {{{"role", "user"}, {"content", 5}}}},
                 {"messages", {{{"role", "wizard"}, {"content", "hi"}}}},
                 {"messages", {{{"role", "user"}, {"content", {{{"type", 5}}}}}}},
                 {"messages", {{{"role", "assistant"}, {"content", "hi"}, {"tool_calls", {{{"type", 5}}}}}}}},
                {"temperature", "hot"},
                {"temperature", 5},
                {"max_tokens", -1},
                {"max_tokens", 1e12},
                {"max_tokens", "1"},
                {"stream", "x"},
                {"stream_options", 5},
                {"stop", 5},
                {"n", 2},
                {"response_format", "json"},
                {"response_format", {{"type", 5}}},
                {"tools", "x"},
                {"tool_choice", 5},
                {"logprobs", "x"},
                {"top_logprobs", 100},
                {"seed", 1.5},
                {"reasoning_effort", 5},
                {"keep_alive", json::array()}}},
      {"/v1/completions",
       {{"prompt", 5},
        {"prompt", json::array()},
        {"prompt", {1, 2}},
        {"max_tokens", 0},
        {"logprobs", 10},
        {"echo", true},
        {"suffix", 5},
        {"best_of", 2}}},
      {"/v1/embeddings",
       {{"input", 5}, {"input", json::array()}, {"input", {""}}, {"encoding_format", "hex"}, {"dimensions", "x"}}},
  {
    "/v1/responses",
        {{"input", 5},
         {"input", {5}},
         {"input", {{{"type", "bogus"}}}},
         {"input", {{{"role", "user"}, {"content", {{{"type", 5}}}}}}}},
        {"instructions", 5}, {"max_output_tokens", -1}, {"tools", "x"}, {"tools", {{{"type", 5}}}}, {"text", "x"},
        {"reasoning", "x"}, {
      "previous_response_id", "resp_1"
    }
  }
}
,
};
for (const auto& [path, fields] : cases) {
  const Route& r = route(path);
  for (const auto& [field, value] : fields) expect_rejected(r, with(r, field, value));
  if (r.body.contains("options") || path == "/api/embed" || path == "/api/embeddings")
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
    if (path == "/api/generate" && body["options"].value("grammar", "") == grammar)
      EXPECT_EQ(answer.value("response", ""), "ok") << a.body;
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
  for (const std::string digest :
       {"sha256:zz", "sha256:" + std::string(63, 'a'), "sha256:" + std::string(64, 'g'), "md5:abc", "sha256%3A.."}) {
    Route r = blob;
    r.path = "/api/blobs/" + digest;
    expect_rejected(r, std::string("bytes"));
  }
}

}  // namespace
}  // namespace ebb::test
