// The curl examples in docs/api.md, run against a real serve, so that the documentation stays
// true: each must succeed, and the answer shown after it must not name a key the real answer
// lacks (objects compared key by key, arrays by their first element; values are examples).
#include <fstream>
#include <sstream>

#include "serve_fixture.h"

namespace ebb::test {
namespace {

struct Example {
  std::string command;
  json expected;  // null when the docs show no answer
  int line = 0;
};

// ```sh blocks that hold a curl command, each with the ```json block right after it, if any.
std::vector<Example> examples_in(const fs::path& md) {
  std::ifstream in(md);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  const auto block = [&](size_t& i) {  // i at the opening fence; leaves i after the closing one
    std::string text;
    for (++i; i < lines.size() && lines[i] != "```"; ++i) text += lines[i] + "\n";
    ++i;
    return text;
  };
  std::vector<Example> out;
  for (size_t i = 0; i < lines.size();) {
    if (lines[i] != "```sh") {
      ++i;
      continue;
    }
    Example e;
    e.line = static_cast<int>(i) + 1;
    e.command = block(i);
    if (e.command.rfind("curl ", 0) != 0) continue;
    while (i < lines.size() && lines[i].empty()) ++i;
    if (i < lines.size() && lines[i] == "```json") {
      const std::string text = block(i);
      e.expected = json::parse(text, nullptr, false);
      if (e.expected.is_discarded()) ADD_FAILURE() << "docs/api.md:" << e.line << ": its answer is not JSON:\n" << text;
    }
    out.push_back(std::move(e));
  }
  return out;
}

// The answer's last JSON value: the whole body, an NDJSON stream's last line, or an SSE stream's
// last data event before [DONE].
json last_value(const std::string& body) {
  json whole = json::parse(body, nullptr, false);
  if (!whole.is_discarded()) return whole;
  json last;
  std::istringstream in(body);
  for (std::string l; std::getline(in, l);) {
    if (l.empty() || l.rfind("event: ", 0) == 0) continue;
    if (l.rfind("data: ", 0) == 0) l = l.substr(6);
    if (l == "[DONE]") continue;
    json v = json::parse(l, nullptr, false);
    if (v.is_discarded()) return json::value_t::discarded;
    last = std::move(v);
  }
  return last;
}

// Keys `expected` shows that `actual` lacks, as JSON pointers.
void missing_keys(const json& expected, const json& actual, const std::string& at, std::vector<std::string>& out) {
  if (expected.is_object()) {
    if (!actual.is_object()) {
      out.push_back(at + " (not an object)");
      return;
    }
    for (const auto& [k, v] : expected.items()) {
      if (!actual.contains(k))
        out.push_back(at + "/" + k);
      else
        missing_keys(v, actual[k], at + "/" + k, out);
    }
  } else if (expected.is_array() && !expected.empty() && expected[0].is_structured()) {
    if (!actual.is_array() || actual.empty())
      out.push_back(at + "/0 (no elements)");
    else
      missing_keys(expected[0], actual[0], at + "/0", out);
  }
}

TEST(DocsExamples, CurlExamplesInApiMdRun) {
  const fs::path dir = scratch_dir("ebb-test-docs");
  fs::copy_file(models_dir() / "tiny.gguf", dir / "demo.gguf", fs::copy_options::overwrite_existing);
  run_capture(std::string(EBB_BIN) + " synth --out " + (dir / "tools-demo.gguf").string() +
              " --params 20M --seed 5 --chat-template " LLAMA_TEMPLATES_DIR
              "/Qwen-Qwen2.5-7B-Instruct.jinja >/dev/null");
  Server s({"--device-memory", "8GiB"}, dir);

  const auto examples = examples_in(fs::path(DOCS_DIR) / "api.md");
  ASSERT_GE(examples.size(), 15u) << "the examples section of docs/api.md";
  const std::string address = "127.0.0.1:" + std::to_string(s.port());
  for (const auto& e : examples) {
    SCOPED_TRACE("docs/api.md:" + std::to_string(e.line) + ": " + e.command);
    std::string cmd = e.command;
    for (size_t at; (at = cmd.find("localhost:11434")) != std::string::npos;) cmd.replace(at, 15, address);
    cmd.replace(0, 5, "curl --fail-with-body -sS --max-time 120 ");  // a 4xx or 5xx fails the example
    int rc = -1;
    const std::string out = run_command(cmd + " 2>&1", &rc);
    EXPECT_EQ(rc, 0) << out;
    const json answer = last_value(out);
    EXPECT_FALSE(answer.is_discarded() || answer.is_null()) << "not JSON, NDJSON or SSE:\n" << out;
    if (rc != 0 || answer.is_discarded() || e.expected.is_null()) continue;
    std::vector<std::string> missing;
    missing_keys(e.expected, answer, "", missing);
    EXPECT_TRUE(missing.empty()) << "keys the docs show and the answer lacks: " << json(missing).dump() << "\n"
                                 << answer.dump();
  }
}

}  // namespace
}  // namespace ebb::test
