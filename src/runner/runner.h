#pragma once
// `ebb runner`: one process per loaded model. Speaks the framed protocol on `fd`
// (see docs/protocol.md), loads the model on request, and serves generations with
// continuous batching over num_parallel slots.
namespace ebb::runner {

// Runs until the supervisor says shutdown or closes the socket. Returns the exit code.
int run(int fd);

}  // namespace ebb::runner
