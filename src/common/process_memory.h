#pragma once
// Measured memory of a process, read from /proc: the "actual" side of memory accounting
// (independent of llama.cpp's own breakdown). Bytes; 0 where the kernel does not report a field.
#include <cstdint>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace ebb {

struct ProcessMemory {
  uint64_t rss = 0;       // VmRSS
  uint64_t pss = 0;       // Pss from smaps_rollup: shared pages divided among their users
  uint64_t rss_anon = 0;  // RssAnon: heap, KV, compute buffers, repacked weights
  uint64_t rss_file = 0;  // RssFile: mapped files (mmapped weights)
};

// pid 0: this process. Missing files (another user's process, no smaps_rollup) leave zeros.
ProcessMemory read_process_memory(int pid = 0);

// This process's RssAnon, from /proc/self/status alone (no smaps walk).
uint64_t own_resident_anon();

// This process's resident pages of mapped files other than `except` (a model file): the code and
// data of the executable and its libraries. From /proc/self/smaps.
uint64_t own_file_rss_except(std::string_view except);

// {"rss","pss","rss_anon","rss_file"}
nlohmann::json to_json(const ProcessMemory& m);

// The value of a "Key:   123 kB" line in /proc text, in bytes; 0 when absent.
uint64_t proc_kb_field(std::string_view text, std::string_view key);

}  // namespace ebb
