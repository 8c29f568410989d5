#pragma once
// The one request path of a generation (Ollama's /api/generate and /api/chat, and any other
// endpoint that generates): acquire the model, submit to its runner, and let the runner's first
// event decide between an error status and a 200 answer, whole or streamed, in a ResponseShape.
#include <chrono>
#include <memory>

#include <httplib.h>

#include "api/client_watch.h"
#include "api/generate_request.h"
#include "api/response_shape.h"
#include "api/server.h"

namespace ebb::api {

// Answers `res` for the generation `r` (which has a prompt) on `entry`. `t0`: when the request
// arrived. A client that hangs up cancels the request in the runner, whenever it does.
void serve_generation(ServerContext ctx, const supervisor::ModelEntry& entry, const GenerateRequest& r,
                      const ClientWatch& client, std::shared_ptr<const ResponseShape> shape,
                      std::chrono::steady_clock::time_point t0, httplib::Response& res);

}  // namespace ebb::api
