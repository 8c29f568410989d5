#pragma once
// Long store operations (pull, push, create) answered as Ollama answers them: NDJSON progress
// objects ({"status", "digest", "total", "completed"}) while the job runs, or one
// {"status": "success"} with "stream": false. A job that fails before its first progress line
// gets a plain error status (400, 404, 409, …); a later failure is an {"error"} line, as Ollama
// sends it. A client that hangs up cancels the job, which stops at its next check.
#include <functional>
#include <stdexcept>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace ebb::api {

// An error with the HTTP status a job's failure answers.
struct StatusError : std::runtime_error {
  StatusError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

using ProgressFn = std::function<void(const nlohmann::json&)>;
using CancelledFn = std::function<bool()>;
using ProgressJob = std::function<void(const ProgressFn& progress, const CancelledFn& cancelled)>;

// Runs `job` (on a thread of its own when streaming). Exceptions map to statuses: StatusError
// its own, std::invalid_argument 400, anything else 500.
void serve_progress(httplib::Response& res, bool stream, ProgressJob job);

}  // namespace ebb::api
