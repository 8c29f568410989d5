#pragma once
// The server never calls llama.cpp: create's quantize step runs `ebb quantize --progress-json IN
// OUT TYPE` as a child process and reads its per-tensor progress lines.
#include <filesystem>

#include "store/create.h"

namespace ebb::store {

// A Quantizer that runs `ebb_exe quantize` (the server passes /proc/self/exe). Throws
// std::runtime_error with the end of the child's output when it fails.
Quantizer quantize_with_ebb(std::filesystem::path ebb_exe);

}  // namespace ebb::store
