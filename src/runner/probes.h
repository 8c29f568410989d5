#pragma once
// One-shot runner modes whose answer is one JSON line on stdout. They run in short-lived child
// processes because llama.cpp aborts the whole process on some malformed files.
#include <string>

namespace ebb::runner {

// `ebb runner --measure --params '<load json>'`: a no_alloc dry run of load + context creation.
// Prints {"weights","kv","compute","buffers":[...],"n_ctx","num_parallel","ms"} and returns 0,
// or prints {"error":"..."} and returns 1. n_ctx is per slot, after capping at the trained context.
int measure(const std::string& params_json);

// `ebb runner --devices`: prints {"devices":[...]} (see engine/devices.h) and returns 0.
int devices();

}  // namespace ebb::runner
