#include "supervisor/runner_environment.h"

#include <unistd.h>

extern char** environ;

namespace ebb::supervisor {

static constexpr const char* kTunables = "GLIBC_TUNABLES";

std::string with_hugetlb_tunable(const std::string& existing) {
  if (existing.find("glibc.malloc.hugetlb") != std::string::npos) return existing;
  return existing.empty() ? "glibc.malloc.hugetlb=1" : existing + ":glibc.malloc.hugetlb=1";
}

const std::vector<std::string>& runner_environment() {
  static const std::vector<std::string> env = [] {
    std::vector<std::string> out;
    std::string tunables;
    const std::string prefix = std::string(kTunables) + "=";
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      if (kv.rfind(prefix, 0) == 0)
        tunables = kv.substr(prefix.size());
      else
        out.push_back(std::move(kv));
    }
    out.push_back(prefix + with_hugetlb_tunable(tunables));
    return out;
  }();
  return env;
}

}  // namespace ebb::supervisor
