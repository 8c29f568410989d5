#pragma once
// Reads a model file into the page cache with several threads before llama.cpp maps it.
//
// llama.cpp maps weights with MAP_POPULATE, which reads a cold file in one thread. On our VM the
// first CPU touch of each freshly read page then costs again (the hypervisor backs it lazily), so
// a cold 432 MiB model took 0.31 s to load and its first decode 0.25 s longer than normal.
// Parallel preads take 0.34-0.46 s for both (a virtual disk, like an NVMe drive, serves several
// reads at once, so the reader count does not follow the CPU count). A file that is already
// resident (the host tier locks it) is left alone, at the cost of one mincore.
#include <cstdint>
#include <string>

namespace ebb::engine {

struct PrefetchResult {
  uint64_t file_bytes = 0;
  uint64_t resident_before = 0;  // bytes in the page cache before
  uint64_t read_bytes = 0;       // bytes read here (0: it was resident, or the file is unreadable)
};

// Never throws: a file that cannot be opened or mapped is left to llama.cpp to report.
PrefetchResult prefetch_file(const std::string& path, unsigned readers = 4);

}  // namespace ebb::engine
