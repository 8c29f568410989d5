#pragma once
// What the CLI commands share to talk to a running `ebb serve`.
#include <atomic>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/client_address.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace ebb::cli {

// Runs a client command's body: errors print "Error: ..." and exit 1, as ollama's do.
template <class Fn>
void run_client(Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    std::exit(1);
  }
}

// An error answer from the server: its status and its "error" text.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// The server could not be reached.
class ConnectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Stops a post_ndjson in progress from another thread, as a client that hangs up: the connection
// is shut down, and the server cancels the request.
class Cancellation {
 public:
  void cancel();
  bool cancelled() const { return cancelled_; }

 private:
  friend void post_ndjson(const ClientAddress&, const std::string&, const nlohmann::json&,
                          const std::function<void(const nlohmann::json&)>&, Cancellation*);
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  std::function<void()> stop_;  // set while a request is in flight
};

// The server address from --host, else EBB_HOST, else OLLAMA_HOST, else 127.0.0.1:11434
// (common/client_address.h). Throws std::invalid_argument for a malformed one.
ClientAddress server_address(const std::string& flag);

// Sends `Authorization: Bearer $EBB_API_KEY` on the client's requests when that variable is set
// (a server started with --api-key wants it).
void authorize(httplib::Client& client);

// Adds the --host option every client command takes.
void add_host_option(CLI::App* cmd, std::string& host);

// GET path → parsed JSON. Throws HttpError with the server's error message, ConnectionError when
// the server cannot be reached.
nlohmann::json get_json(const ClientAddress& address, const std::string& path);

// POST path with a JSON body → the parsed JSON answer; errors as get_json.
nlohmann::json post_json(const ClientAddress& address, const std::string& path, const nlohmann::json& body);

// POST path with an NDJSON streaming answer: calls on_object for each line. Throws HttpError for
// an HTTP error status, ConnectionError when the server cannot be reached, std::runtime_error for
// an error line in the stream. With `cancel`, cancel->cancel() ends it early (it returns then).
void post_ndjson(const ClientAddress& address, const std::string& path, const nlohmann::json& body,
                 const std::function<void(const nlohmann::json&)>& on_object, Cancellation* cancel = nullptr);

}  // namespace ebb::cli
