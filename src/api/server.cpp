#include "api/server.h"

#include <sys/socket.h>

#include <limits>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/draining_pool.h"
#include "api/http_util.h"
#include "api/request_gate.h"

namespace ebb::api {

HttpServer::HttpServer(ServerContext ctx, GateSettings gate)
    : ctx_(ctx),
      gate_(std::make_unique<RequestGate>(std::move(gate))),
      drain_plan_(std::make_shared<DrainPlan>()),
      srv_(std::make_unique<httplib::Server>()) {
  // Each streaming response holds a worker for its whole length: size the pool for many clients.
  srv_->new_task_queue = [plan = drain_plan_] { return new DrainingPool(256, plan); };
  // A blob upload (POST /api/blobs/…, a GGUF of many GiB) streams to disk: httplib's own limit is
  // lifted and the other bodies are held to --max-body by Content-Length in the gate.
  srv_->set_payload_max_length(std::numeric_limits<size_t>::max());
  srv_->set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return gate_->admit(req, res); });
  srv_->set_keep_alive_max_count(10000);
  // Streamed answers are many small writes: without TCP_NODELAY, Nagle's algorithm and the
  // client's delayed ACK hold each one back by up to 40 ms on a kept-alive connection.
  srv_->set_tcp_nodelay(true);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second `ebb serve`
  // bind the same port silently and take half of the connections.
  srv_->set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_ = sock;
  });
  srv_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("unhandled error: {}", what);
    send_error(res, 500, what);
  });
  srv_->Get("/",
            [](const httplib::Request&, httplib::Response& res) { res.set_content("ebb is running", "text/plain"); });
  srv_->Get("/api/version", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"version", "0.1.0"}});
  });
  // Liveness: the HTTP front answers; no model is looked at or loaded.
  srv_->Get("/health", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}});
  });
  add_ollama_routes(*srv_, ctx_);
  add_admin_routes(*srv_, ctx_);
  add_embed_routes(*srv_, ctx_);
  add_show_routes(*srv_, ctx_);
  add_openai_routes(*srv_, ctx_);
  add_store_routes(*srv_, ctx_);
  srv_->set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    return reshape_openai_error(req, res) ? httplib::Server::HandlerResponse::Handled
                                          : httplib::Server::HandlerResponse::Unhandled;
  }));
}

HttpServer::~HttpServer() = default;

int HttpServer::bind(const std::string& host, int port) {
  int bound = port == 0 ? srv_->bind_to_any_port(host) : (srv_->bind_to_port(host, port) ? port : -1);
  if (bound < 0) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port));
  // The packaged httplib listens with a backlog of 5: a burst of new connections (64 clients)
  // overflowed it and clients waited for SYN retransmits. Linux lets listen() raise it in place.
  if (listen_fd_ >= 0 && ::listen(listen_fd_, kListenBacklog) != 0) spdlog::warn("cannot raise the listen backlog");
  return bound;
}

void HttpServer::listen() {
  srv_->listen_after_bind();
  listen_ended_ = true;
}

void HttpServer::stop() { srv_->stop(); }

void HttpServer::drain(std::chrono::milliseconds timeout, std::function<void()> before_workers_end) {
  gate_->start_draining();
  {
    std::lock_guard lk(drain_plan_->mutex);
    drain_plan_->deadline = std::chrono::steady_clock::now() + timeout;
    drain_plan_->before_workers_end = std::move(before_workers_end);
  }
  // A signal right after start-up may come before listen() runs, when stop() would do nothing.
  while (!srv_->is_running() && !listen_ended_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Closes the listening socket: new connections are refused, and kept-alive ones end after
  // their current request. listen() then shuts the pool down, which drains (DrainingPool).
  srv_->stop();
}

}  // namespace ebb::api
