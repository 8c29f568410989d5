#pragma once
// Runs a shell command for a test and captures its stdout.
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace ebb::test {

// Returns stdout; sets `rc` (when given) to the exit status, -1 if it did not exit normally.
inline std::string run_command(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    if (rc) *rc = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace ebb::test
