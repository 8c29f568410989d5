#pragma once
// KV snapshots spilled to a directory (`--kv-disk DIR`): the RAM snapshot cache hands over what it
// evicts, a background thread writes it, and a later prompt (even after a restart of ebb serve)
// finds it by longest common prefix and reads it back into shared memory.
//
// One file per snapshot, `<hash>.ebbkv`: the magic "EBBKV1\n", a u32 little-endian header length,
// a JSON header {path, file_size, mtime_ns, kv_type, n_ctx, tokens, state_bytes}, then the state.
// Files that do not parse are logged and left alone; one found truncated when read back is
// deleted; unfinished writes (`*.ebbkv.tmp`) are removed at start; the oldest files go first when
// over budget. A write that fails (a full disk) drops that snapshot, with a warning.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "memory/snapshot_cache.h"

namespace ebb::supervisor {

class SnapshotDisk {
 public:
  // Creates `dir` if needed and indexes the snapshots already there.
  SnapshotDisk(std::filesystem::path dir, uint64_t budget);
  ~SnapshotDisk();  // finishes queued writes
  SnapshotDisk(const SnapshotDisk&) = delete;
  SnapshotDisk& operator=(const SnapshotDisk&) = delete;

  // Queues a snapshot for writing (it holds its shared memory until written).
  void store(memory::Snapshot s);
  // The stored snapshot with the longest common prefix (at least `min_prefix`) whose key matches
  // and whose n_ctx is at least `n_ctx`, read back into shared memory. Unreadable: nullopt.
  std::optional<memory::Snapshot> best_match(const memory::SnapshotKey& key, uint32_t n_ctx,
                                             const std::vector<int32_t>& prompt, size_t min_prefix);
  bool has_any(const memory::SnapshotKey& key) const;
  // Waits until every queued snapshot is on disk.
  void flush();

  const std::filesystem::path& dir() const { return dir_; }
  uint64_t budget() const { return budget_; }
  uint64_t used() const;
  size_t count() const;

 private:
  struct Entry {
    std::filesystem::path file;
    memory::SnapshotKey key;
    uint32_t n_ctx = 0;
    std::vector<int32_t> tokens;
    uint64_t file_bytes = 0;
    uint64_t state_offset = 0;
    uint64_t state_bytes = 0;
  };
  static std::optional<Entry> read_header(const std::filesystem::path& file);
  void write(const memory::Snapshot& s);
  void add_entry(Entry e);                         // newest first; drops the oldest over budget (caller holds mu_)
  void forget(const std::filesystem::path& file);  // an unreadable file: out of the index and deleted
  void writer_loop();

  std::filesystem::path dir_;
  uint64_t budget_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::list<Entry> entries_;  // front: most recently written or read
  uint64_t used_ = 0;
  std::deque<memory::Snapshot> queue_;
  bool writing_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace ebb::supervisor
