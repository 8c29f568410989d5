#pragma once
// The HTTP front: owns the cpp-httplib server and wires the routes to the supervisor.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api/gate_settings.h"

#include "supervisor/model_manager.h"
#include "supervisor/model_registry.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace ebb::api {

struct DrainPlan;
class RequestGate;

// What the routes share. The store's writes (pull, create, copy, delete) go through `models`.
struct ServerContext {
  supervisor::ModelRegistry& registry;
  supervisor::ModelManager& manager;
  bool models_read_only = false;
  std::string exe;  // this ebb binary, for child processes (quantize on create)
};

class HttpServer {
 public:
  explicit HttpServer(ServerContext ctx, GateSettings gate = {});
  ~HttpServer();
  // Binds host:port (port 0 = ephemeral). Returns the bound port; throws on failure.
  int bind(const std::string& host, int port);
  // Serves until stop(). Blocks.
  void listen();
  void stop();
  // A graceful stop: new connections are refused and requests on open ones get 503, while those
  // running may finish for up to `timeout`; then `before_workers_end` runs (stop the runners)
  // and listen() returns. Returns at once; listen()'s thread does the waiting.
  void drain(std::chrono::milliseconds timeout, std::function<void()> before_workers_end);

 private:
  static constexpr int kListenBacklog = 1024;
  ServerContext ctx_;
  std::unique_ptr<RequestGate> gate_;
  std::shared_ptr<DrainPlan> drain_plan_;
  std::unique_ptr<httplib::Server> srv_;
  int listen_fd_ = -1;
  std::atomic<bool> listen_ended_{false};
};

// Route groups (each in its own file).
void add_ollama_routes(httplib::Server& srv, ServerContext ctx);
void add_admin_routes(httplib::Server& srv, ServerContext ctx);
void add_embed_routes(httplib::Server& srv, ServerContext ctx);
void add_show_routes(httplib::Server& srv, ServerContext ctx);
void add_openai_routes(httplib::Server& srv, ServerContext ctx);
void add_store_routes(httplib::Server& srv, ServerContext ctx);
// For the server's error handler: an error answer on a /v1 path (an unknown route's empty 404
// included) in OpenAI's shape (true); others stay as they are (false).
bool reshape_openai_error(const httplib::Request& req, httplib::Response& res);

}  // namespace ebb::api
