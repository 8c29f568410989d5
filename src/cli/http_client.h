#pragma once
// What the CLI commands share to talk to a running `ebb serve`.
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace ebb::cli {

// The server address from --host, else EBB_HOST, else 127.0.0.1:11434.
std::string server_address(const std::string& flag);

// GET path → parsed JSON; throws std::runtime_error with the server's error message.
nlohmann::json get_json(const std::string& address, const std::string& path);

// POST path with an NDJSON streaming answer: calls on_object for each line.
// Throws std::runtime_error on connection failure or an HTTP error status.
void post_ndjson(const std::string& address, const std::string& path, const nlohmann::json& body,
                 const std::function<void(const nlohmann::json&)>& on_object);

}  // namespace ebb::cli
