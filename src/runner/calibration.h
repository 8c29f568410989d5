#pragma once
// The answer to "calibrate" (see docs/protocol.md). An idle runner, asked at the supervisor's
// start: a tiny model's load and decode touch the code pages (llama.cpp's loader, the CPU
// kernels) that every runner touches once it has loaded and decoded and that an idle runner's
// baseline lacks; their growth is reported.
#include <nlohmann/json.hpp>

namespace ebb::runner {

// The reply's fields besides type and id: {"code_bytes": n}, or {"error": "..."} (also when
// `loaded`: only an idle runner can measure).
nlohmann::json calibrate(bool loaded);

}  // namespace ebb::runner
