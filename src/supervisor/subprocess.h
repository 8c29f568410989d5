#pragma once
// Runs a short-lived child (`ebb runner --measure`, `--devices`) and captures its stdout.
#include <chrono>
#include <string>
#include <vector>

namespace ebb::supervisor {

struct ChildResult {
  int exit_code = -1;  // -1: did not exit normally (killed, timed out)
  std::string out;
};

ChildResult run_child(const std::string& exe, const std::vector<std::string>& args, std::chrono::milliseconds timeout);

}  // namespace ebb::supervisor
