#pragma once
// What the CLI commands share to talk to a running `ebb serve`.
#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/client_address.h"

namespace ebb::cli {

// An error answer from the server: its status and its "error" text.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// The server address from --host, else EBB_HOST, else OLLAMA_HOST, else 127.0.0.1:11434
// (common/client_address.h). Throws std::invalid_argument for a malformed one.
ClientAddress server_address(const std::string& flag);

// Adds the --host option every client command takes.
void add_host_option(CLI::App* cmd, std::string& host);

// GET path → parsed JSON. Throws HttpError with the server's error message, std::runtime_error when
// the server cannot be reached.
nlohmann::json get_json(const ClientAddress& address, const std::string& path);

// POST path with a JSON body → the parsed JSON answer; errors as get_json.
nlohmann::json post_json(const ClientAddress& address, const std::string& path, const nlohmann::json& body);

// POST path with an NDJSON streaming answer: calls on_object for each line.
// Throws std::runtime_error on connection failure or an HTTP error status.
void post_ndjson(const ClientAddress& address, const std::string& path, const nlohmann::json& body,
                 const std::function<void(const nlohmann::json&)>& on_object);

}  // namespace ebb::cli
