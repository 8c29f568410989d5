#pragma once
// Temporary directories for a test binary's generated files, removed when the binary exits.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace ebb::test {

inline std::vector<std::filesystem::path>& scratch_dirs() {
  static auto* dirs = new std::vector<std::filesystem::path>();  // never destroyed: the exit handler reads it
  return *dirs;
}

// Makes /tmp/<prefix>-XXXXXX. Keep the path (in a static): each call makes a new directory.
inline std::filesystem::path scratch_dir(const std::string& prefix) {
  static const bool registered = (std::atexit([] {
                                    for (const auto& d : scratch_dirs()) {
                                      std::error_code ec;
                                      std::filesystem::remove_all(d, ec);
                                    }
                                  }),
                                  true);
  (void)registered;
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot create " + tmpl);
  scratch_dirs().push_back(tmpl);
  return tmpl;
}

}  // namespace ebb::test
