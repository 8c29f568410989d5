// Safe defaults (issue 13 §5) against a real `ebb serve`: it listens on loopback only unless told
// otherwise, the API key guards all routes or the admin ones, CORS admits local pages and the
// operator's origins, bodies beyond --max-body are refused, and SIGTERM drains: running streams
// finish, new requests are refused, a second signal ends it at once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "serve_fixture.h"

namespace ebb::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Sets an environment variable for the scope (a Server started inside inherits it).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The local addresses (as /proc/net/tcp{,6} write them, hex) that listen on `port`.
std::vector<std::string> listening_addresses(int port) {
  std::vector<std::string> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream f(table);
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      const size_t colon = local.rfind(':');
      if (state == "0A" && std::stoi(local.substr(colon + 1), nullptr, 16) == port)
        out.push_back(local.substr(0, colon));
    }
  }
  return out;
}

// Whether a new TCP connection to the port is accepted.
bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

httplib::Headers bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

int status_of(const httplib::Result& r) { return r ? r->status : 0; }

std::string error_of(const httplib::Result& r) {
  if (!r) return "(no answer)";
  const json body = json::parse(r->body, nullptr, false);
  return body.is_object() && body.value("error", json()).is_string() ? body["error"].get<std::string>() : r->body;
}

const json kShortGenerate = {
    {"model", "tiny"}, {"prompt", "hi"}, {"stream", false}, {"options", {{"num_predict", 2}, {"temperature", 0}}}};

TEST(Safety, ListensOnLoopbackOnlyByDefault) {
  Server s({"--host", ":0"});  // the default host, an ephemeral port
  const std::vector<std::string> addresses = listening_addresses(s.port());
  EXPECT_EQ(addresses, std::vector<std::string>{"0100007F"}) << "only 127.0.0.1, no other IPv4 or IPv6 address";
}

TEST(Safety, AnApiKeyGuardsEveryRouteButTheOpenOnes) {
  Server s({"--api-key", "k3y-for-tests"});
  auto c = s.client();
  const auto missing = c.Get("/api/tags");
  EXPECT_EQ(status_of(missing), 401);
  EXPECT_EQ(missing->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_NE(error_of(missing).find("API key"), std::string::npos) << error_of(missing);
  const auto wrong = c.Get("/api/tags", bearer("k3y-for-test"));
  EXPECT_EQ(status_of(wrong), 401);
  EXPECT_EQ(error_of(wrong), "wrong API key");
  EXPECT_EQ(status_of(c.Get("/api/tags", bearer("k3y-for-tests"))), 200);

  EXPECT_EQ(status_of(c.Post("/api/generate", kShortGenerate.dump(), "application/json")), 401);
  EXPECT_EQ(status_of(c.Post("/api/generate", bearer("k3y-for-tests"), kShortGenerate.dump(), "application/json")),
            200);
  EXPECT_EQ(status_of(c.Get("/api/memory")), 401);
  EXPECT_EQ(status_of(c.Post("/api/models/load", R"({"model":"tiny"})", "application/json")), 401);
  const auto openai = c.Get("/v1/models");
  EXPECT_EQ(status_of(openai), 401);
  EXPECT_TRUE(json::parse(openai->body)["error"].is_object()) << "OpenAI's error shape on /v1: " << openai->body;

  for (const char* open : {"/", "/api/version", "/health"}) EXPECT_EQ(status_of(c.Get(open)), 200) << open;
  EXPECT_EQ(json::parse(c.Get("/health")->body), json({{"status", "ok"}}));
}

TEST(Safety, TheKeyComesFromTheEnvironmentAndTheCliSendsIt) {
  std::optional<Server> s;
  {
    ScopedEnv key("EBB_API_KEY", "from-env");
    s.emplace();
  }
  auto c = s->client();
  EXPECT_EQ(status_of(c.Get("/api/tags", bearer("from-env"))), 200);
  EXPECT_EQ(status_of(c.Get("/api/tags")), 401);

  const std::string list = std::string(EBB_BIN) + " list --host " + s->address() + " 2>&1";
  int rc = 0;
  const std::string refused = run_command(list, &rc);
  EXPECT_EQ(rc, 1) << refused;
  EXPECT_NE(refused.find("API key"), std::string::npos) << refused;
  ScopedEnv key("EBB_API_KEY", "from-env");
  const std::string listed = run_command(list, &rc);
  EXPECT_EQ(rc, 0) << listed;
  EXPECT_NE(listed.find("tiny"), std::string::npos) << listed;
}

TEST(Safety, TheFlagWinsOverTheEnvironment) {
  std::optional<Server> s;
  {
    ScopedEnv key("EBB_API_KEY", "from-env");
    s.emplace(std::vector<std::string>{"--api-key", "from-flag"});
  }
  auto c = s->client();
  EXPECT_EQ(status_of(c.Get("/api/tags", bearer("from-flag"))), 200);
  EXPECT_EQ(status_of(c.Get("/api/tags", bearer("from-env"))), 401);
}

TEST(Safety, AdminScopeGuardsOnlyWhatChangesModelsOrMemory) {
  const fs::path config = write_temp_file("[server]\napi_key = \"admin-key\"\napi_key_scope = \"admin\"\n");
  Server s({"--config", config.string()});
  auto c = s.client();
  EXPECT_EQ(status_of(c.Get("/api/tags")), 200);
  EXPECT_EQ(status_of(c.Post("/api/generate", kShortGenerate.dump(), "application/json")), 200);
  EXPECT_EQ(status_of(c.Post("/api/show", R"({"model":"tiny"})", "application/json")), 200);
  EXPECT_EQ(status_of(c.Get("/api/memory")), 401);
  EXPECT_EQ(status_of(c.Get("/api/memory", bearer("admin-key"))), 200);
  for (const char* path : {"/api/models/unload", "/api/models/release-kv", "/api/pull", "/api/create", "/api/copy"})
    EXPECT_EQ(status_of(c.Post(path, R"({"model":"tiny"})", "application/json")), 401) << path;
  EXPECT_EQ(status_of(c.Delete("/api/delete", R"({"model":"tiny"})", "application/json")), 401);
  EXPECT_EQ(status_of(c.Post("/api/blobs/sha256:" + std::string(64, '0'), "x", "application/octet-stream")), 401);
  EXPECT_EQ(status_of(c.Post("/api/models/unload", bearer("admin-key"), R"({"model":"tiny"})", "application/json")),
            200);
  fs::remove(config);
}

TEST(Safety, CorsAdmitsLocalPagesAndRefusesOthers) {
  Server s;
  auto c = s.client();
  const auto local = c.Get("/api/version", {{"Origin", "http://localhost:5173"}});
  EXPECT_EQ(status_of(local), 200);
  EXPECT_EQ(local->get_header_value("Access-Control-Allow-Origin"), "http://localhost:5173");
  EXPECT_EQ(local->get_header_value("Vary"), "Origin");
  EXPECT_EQ(status_of(c.Get("/api/tags", {{"Origin", "vscode-webview://abc123"}})), 200);

  const auto foreign = c.Get("/api/tags", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(status_of(foreign), 403);
  EXPECT_NE(error_of(foreign).find("https://evil.example"), std::string::npos) << error_of(foreign);
  EXPECT_FALSE(foreign->has_header("Access-Control-Allow-Origin"));

  const auto plain = c.Get("/api/tags");  // no Origin: not a browser's cross-origin call
  EXPECT_EQ(status_of(plain), 200);
  EXPECT_FALSE(plain->has_header("Access-Control-Allow-Origin"));

  const httplib::Headers preflight = {{"Origin", "http://127.0.0.1:3000"},
                                      {"Access-Control-Request-Method", "POST"},
                                      {"Access-Control-Request-Headers", "authorization, content-type"}};
  const auto ok = c.Options("/api/chat", preflight);
  EXPECT_EQ(status_of(ok), 204);
  EXPECT_EQ(ok->get_header_value("Access-Control-Allow-Origin"), "http://127.0.0.1:3000");
  EXPECT_NE(ok->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_NE(ok->get_header_value("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
  EXPECT_NE(ok->get_header_value("Access-Control-Allow-Headers").find("Content-Type"), std::string::npos);
  EXPECT_EQ(status_of(c.Options("/api/chat",
                                {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}})),
            403);
}

TEST(Safety, CorsPreflightNeedsNoKeyAndRefusalsCarryCorsHeaders) {
  Server s({"--api-key", "k"});
  auto c = s.client();
  EXPECT_EQ(
      status_of(c.Options("/api/chat", {{"Origin", "http://localhost"}, {"Access-Control-Request-Method", "POST"}})),
      204);
  const auto refused = c.Get("/api/tags", {{"Origin", "http://localhost"}});
  EXPECT_EQ(status_of(refused), 401);
  EXPECT_EQ(refused->get_header_value("Access-Control-Allow-Origin"), "http://localhost")
      << "a page must be able to read why it was refused";
}

TEST(Safety, EbbOriginsAndOriginsFlagAddOrigins) {
  std::optional<Server> from_env;
  {
    ScopedEnv origins("EBB_ORIGINS", "https://app.example.com, https://*.tools.example");
    from_env.emplace();
  }
  Server from_flag({"--origins", "https://flag.example"});
  auto c = from_env->client();
  const auto app = c.Get("/api/tags", {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(status_of(app), 200);
  EXPECT_EQ(app->get_header_value("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(status_of(c.Get("/api/tags", {{"Origin", "https://a.tools.example"}})), 200);
  EXPECT_EQ(status_of(c.Get("/api/tags", {{"Origin", "http://localhost:8080"}})), 200) << "the defaults stay";
  EXPECT_EQ(status_of(c.Get("/api/tags", {{"Origin", "https://flag.example"}})), 403);
  auto f = from_flag.client();
  EXPECT_EQ(status_of(f.Get("/api/tags", {{"Origin", "https://flag.example"}})), 200);
  EXPECT_EQ(status_of(f.Get("/api/tags", {{"Origin", "https://app.example.com"}})), 403);
}

TEST(Safety, BadSettingsStopTheServerWithClearErrors) {
  const std::string serve = std::string(EBB_BIN) + " serve --host 127.0.0.1:0 --models " + models_dir().string();
  int rc = 0;
  std::string out = run_command(serve + " --api-key-scope everything 2>&1", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("--api-key-scope / EBB_API_KEY_SCOPE 'everything': expected all or admin"), std::string::npos)
      << out;
  out = run_command(serve + " --max-body 0 2>&1", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("--max-body / EBB_MAX_BODY '0': must be at least 1 byte"), std::string::npos) << out;
  out = run_command("EBB_ORIGINS=example.com " + serve + " 2>&1", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("not scheme://host[:port]"), std::string::npos) << out;
  out = run_command(serve + " --api-key 'two words' 2>&1", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("printable ASCII without spaces"), std::string::npos) << out;
  EXPECT_EQ(out.find("two words"), std::string::npos) << "the key is never echoed: " << out;
}

TEST(Safety, BodiesBeyondMaxBodyAre413ButBlobUploadsAreNot) {
  Server s({"--max-body", "1KiB"});
  auto c = s.client();
  json big = {{"model", "tiny"}, {"prompt", std::string(2000, 'a')}, {"stream", false}};
  const auto refused = c.Post("/api/generate", big.dump(), "application/json");
  EXPECT_EQ(status_of(refused), 413);
  EXPECT_NE(error_of(refused).find("1 KiB"), std::string::npos) << error_of(refused);
  EXPECT_EQ(status_of(c.Post("/api/show", R"({"model":"tiny"})", "application/json")), 200);
  // A blob of 2 KiB whose digest is wrong: refused for its digest, not its size.
  const auto blob =
      c.Post("/api/blobs/sha256:" + std::string(64, '0'), std::string(2048, 'b'), "application/octet-stream");
  EXPECT_EQ(status_of(blob), 400) << (blob ? blob->body : "");
}

// A streamed generation of `tokens` tokens, sent and read up to its first token.
int start_stream(const Server& s, int tokens) {
  const int fd = send_generate_raw(
      s.port(), {{"model", "tiny"}, {"prompt", "tell"}, {"options", {{"num_predict", tokens}, {"temperature", 0}}}});
  EXPECT_GE(fd, 0);
  EXPECT_TRUE(read_first_chunk(fd));
  return fd;
}

TEST(Safety, SigtermLetsARunningStreamFinishAndRefusesNewRequests) {
  Server s({"--shutdown-timeout", "120s"});
  const int stream = start_stream(s, 300);
  // A kept-alive connection opened just before the signal (httplib closes an idle one after 5 s).
  auto kept = s.client();
  kept.set_keep_alive(true);
  ASSERT_EQ(status_of(kept.Get("/api/version")), 200);

  ASSERT_EQ(::kill(s.pid(), SIGTERM), 0);
  EXPECT_TRUE(wait_until([&] { return !accepts_connections(s.port()); })) << "the listener closes";
  const auto late = kept.Get("/api/version");
  EXPECT_EQ(status_of(late), 503);
  EXPECT_EQ(error_of(late), "ebb is shutting down");
  EXPECT_FALSE(s.exit_status()) << "the stream keeps the server up";

  const std::string rest = read_to_last_chunk(stream);
  ::close(stream);
  EXPECT_NE(rest.find("\"done\":true"), std::string::npos) << rest.substr(rest.size() > 500 ? rest.size() - 500 : 0);
  EXPECT_NE(rest.find("\"eval_count\":300"), std::string::npos) << "every token was generated";
  EXPECT_EQ(rest.find("\"error\""), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return s.exit_status().has_value(); }, 30s)) << s.log();
  EXPECT_TRUE(WIFEXITED(*s.exit_status()));
  EXPECT_EQ(WEXITSTATUS(*s.exit_status()), 0) << s.log();
}

TEST(Safety, TheShutdownTimeoutEndsAStreamThatRunsTooLong) {
  Server s({"--shutdown-timeout", "1s"});
  const int stream = start_stream(s, 100000);
  const auto t0 = Clock::now();
  ASSERT_EQ(::kill(s.pid(), SIGTERM), 0);
  const std::string rest = read_to_last_chunk(stream);
  ::close(stream);
  ASSERT_TRUE(wait_until([&] { return s.exit_status().has_value(); }, 30s)) << s.log();
  EXPECT_GE(Clock::now() - t0, 1s);
  EXPECT_EQ(rest.find("\"done\":true,\"done_reason\":\"length\""), std::string::npos) << "cut off, not finished";
  EXPECT_TRUE(WIFEXITED(*s.exit_status()));
  EXPECT_EQ(WEXITSTATUS(*s.exit_status()), 0) << s.log();
}

TEST(Safety, ASecondSignalExitsAtOnce) {
  Server s({"--shutdown-timeout", "120s"});
  const int stream = start_stream(s, 100000);
  const std::vector<pid_t> runners = runner_pids(s.pid());
  ASSERT_FALSE(runners.empty());
  ASSERT_EQ(::kill(s.pid(), SIGTERM), 0);
  ASSERT_TRUE(wait_until([&] { return !accepts_connections(s.port()); })) << "draining";
  EXPECT_FALSE(s.exit_status());
  ASSERT_EQ(::kill(s.pid(), SIGTERM), 0);
  ASSERT_TRUE(wait_until([&] { return s.exit_status().has_value(); }, 5s)) << s.log();
  EXPECT_TRUE(WIFEXITED(*s.exit_status()));
  EXPECT_NE(WEXITSTATUS(*s.exit_status()), 0);
  EXPECT_TRUE(wait_until([&] {
    return std::none_of(runners.begin(), runners.end(), [](pid_t p) { return process_alive(p); });
  })) << "runners die with the server";
  ::close(stream);
}

}  // namespace
}  // namespace ebb::test
