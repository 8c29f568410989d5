#pragma once
// Runs a tiny synthetic model once: synthesized to a temporary file, loaded, a short prompt
// decoded, everything freed and the file removed. Afterwards the process has touched the code
// that every runner touches when it loads and decodes (llama.cpp's loader, the CPU kernels), so
// the growth of its resident code pages says what a runner's baseline must add on host RAM.
// Throws std::runtime_error.

namespace ebb::engine {

void run_tiny_model();

}  // namespace ebb::engine
