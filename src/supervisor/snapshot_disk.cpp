#include "supervisor/snapshot_disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace ebb::supervisor {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr char kMagic[] = "EBBKV1\n";
constexpr size_t kMagicLen = sizeof kMagic - 1;
constexpr uint32_t kMaxHeader = 64u << 20;

std::string file_name(const memory::Snapshot& s) {
  std::string id =
      fmt::format("{}\n{}\n{}\n{}\n{}\n", s.key.path, s.key.file_size, s.key.mtime_ns, s.key.kv_type, s.n_ctx);
  for (int32_t t : s.tokens) id += std::to_string(t) + ",";
  return fmt::format("{:016x}.ebbkv", std::hash<std::string>{}(id));
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, size_t n, off_t offset) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, offset);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    offset += r;
  }
  return true;
}

}  // namespace

SnapshotDisk::SnapshotDisk(fs::path dir, uint64_t budget) : dir_(std::move(dir)), budget_(budget) {
  fs::create_directories(dir_);
  std::vector<std::pair<fs::file_time_type, Entry>> found;
  for (const auto& f : fs::directory_iterator(dir_)) {
    if (f.path().extension() == ".tmp" && f.path().stem().extension() == ".ebbkv") {
      // A write that a killed ebb serve never finished: nothing else can use it.
      std::error_code ec;
      fs::remove(f.path(), ec);
      spdlog::info("kv-disk: removed the unfinished write '{}'", f.path().string());
      continue;
    }
    if (f.path().extension() != ".ebbkv") continue;
    if (auto e = read_header(f.path())) {
      std::error_code ec;
      found.emplace_back(fs::last_write_time(f.path(), ec), std::move(*e));
    } else {
      spdlog::warn("kv-disk: ignoring '{}' (not a snapshot file ebb can read)", f.path().string());
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::lock_guard lk(mu_);
  for (auto& [t, e] : found) add_entry(std::move(e));  // oldest first, so the newest end up in front
  spdlog::info("kv-disk: {} snapshots ({} MiB) in {}", entries_.size(), used_ >> 20, dir_.string());
  writer_ = std::thread([this] { writer_loop(); });
}

SnapshotDisk::~SnapshotDisk() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

std::optional<SnapshotDisk::Entry> SnapshotDisk::read_header(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char magic[kMagicLen];
  unsigned char len[4];
  if (!in.read(magic, kMagicLen) || std::memcmp(magic, kMagic, kMagicLen) != 0) return std::nullopt;
  if (!in.read(reinterpret_cast<char*>(len), 4)) return std::nullopt;
  uint32_t n = len[0] | (len[1] << 8) | (len[2] << 16) | (static_cast<uint32_t>(len[3]) << 24);
  if (n > kMaxHeader) return std::nullopt;
  std::string text(n, '\0');
  if (!in.read(text.data(), n)) return std::nullopt;
  json h = json::parse(text, nullptr, false);
  if (!h.is_object()) return std::nullopt;
  try {
    Entry e;
    e.file = file;
    e.key.path = h.at("path").get<std::string>();
    e.key.file_size = h.at("file_size").get<uint64_t>();
    e.key.mtime_ns = h.at("mtime_ns").get<int64_t>();
    e.key.kv_type = h.at("kv_type").get<std::string>();
    e.n_ctx = h.at("n_ctx").get<uint32_t>();
    e.tokens = h.at("tokens").get<std::vector<int32_t>>();
    e.state_bytes = h.at("state_bytes").get<uint64_t>();
    e.state_offset = kMagicLen + 4 + n;
    e.file_bytes = fs::file_size(file);
    if (e.state_bytes == 0 || e.file_bytes != e.state_offset + e.state_bytes) return std::nullopt;
    return e;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void SnapshotDisk::store(memory::Snapshot s) {
  if (!s.state || s.state->size() == 0) return;
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(s));
  }
  cv_.notify_all();
}

void SnapshotDisk::flush() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return queue_.empty() && !writing_; });
}

void SnapshotDisk::writer_loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything is written
    memory::Snapshot s = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lk.unlock();
    write(s);
    s.state.reset();
    lk.lock();
    writing_ = false;
    cv_.notify_all();
  }
}

void SnapshotDisk::write(const memory::Snapshot& s) {
  std::string_view state = s.state->view();
  if (state.size() > budget_) return;
  json h = {
      {"path", s.key.path}, {"file_size", s.key.file_size}, {"mtime_ns", s.key.mtime_ns}, {"kv_type", s.key.kv_type},
      {"n_ctx", s.n_ctx},   {"tokens", s.tokens},           {"state_bytes", state.size()}};
  std::string header = h.dump();
  std::string head(kMagic, kMagicLen);
  uint32_t n = static_cast<uint32_t>(header.size());
  for (int i = 0; i < 4; ++i) head += static_cast<char>((n >> (8 * i)) & 0xff);
  head += header;
  fs::path file = dir_ / file_name(s);
  {
    std::lock_guard lk(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->file != file) continue;
      entries_.splice(entries_.begin(), entries_, it);  // read back earlier: the file is still there
      return;
    }
  }
  fs::path tmp = file;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write_all(fd, head.data(), head.size()) && write_all(fd, state.data(), state.size());
  if (fd >= 0) ok = (::close(fd) == 0) && ok;
  std::error_code ec;
  if (ok) fs::rename(tmp, file, ec);
  if (!ok || ec) {
    spdlog::warn("kv-disk: could not write {} ({})", file.string(), ok ? ec.message() : std::strerror(errno));
    fs::remove(tmp, ec);
    return;
  }
  Entry e{file, s.key, s.n_ctx, s.tokens, head.size() + state.size(), head.size(), state.size()};
  std::lock_guard lk(mu_);
  add_entry(std::move(e));
}

void SnapshotDisk::add_entry(Entry e) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->file == e.file) {
      used_ -= it->file_bytes;
      entries_.erase(it);
      break;
    }
  }
  used_ += e.file_bytes;
  entries_.push_front(std::move(e));
  while (used_ > budget_ && !entries_.empty()) {
    std::error_code ec;
    fs::remove(entries_.back().file, ec);
    used_ -= entries_.back().file_bytes;
    entries_.pop_back();
  }
}

std::optional<memory::Snapshot> SnapshotDisk::best_match(const memory::SnapshotKey& key, uint32_t n_ctx,
                                                         const std::vector<int32_t>& prompt, size_t min_prefix) {
  Entry found;
  {
    std::lock_guard lk(mu_);
    size_t best_len = 0, queued_len = 0;
    auto best =
        memory::longest_prefix_match(entries_.begin(), entries_.end(), key, n_ctx, prompt, min_prefix, best_len);
    // One still waiting to be written is still in memory; it wins only when it is longer.
    auto queued = memory::longest_prefix_match(queue_.begin(), queue_.end(), key, n_ctx, prompt,
                                               std::max(min_prefix, best_len + 1), queued_len);
    if (queued != queue_.end()) return *queued;
    if (best == entries_.end()) return std::nullopt;
    entries_.splice(entries_.begin(), entries_, best);
    found = entries_.front();
  }
  int fd = ::open(found.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("kv-disk: cannot open {}: {}", found.file.string(), std::strerror(errno));
    forget(found.file);
    return std::nullopt;
  }
  memory::Snapshot s;
  try {
    // Truncated or replaced since it was indexed: never restored.
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != found.file_bytes)
      throw std::runtime_error("its size changed since it was written");
    auto blob = SharedBlob::create(found.state_bytes, "ebb-kv-snapshot");
    bool ok =
        read_all(fd, reinterpret_cast<char*>(blob->data()), found.state_bytes, static_cast<off_t>(found.state_offset));
    ::close(fd);
    fd = -1;
    if (!ok) throw std::runtime_error("short read");
    blob->seal(found.state_bytes);
    s.key = found.key;
    s.n_ctx = found.n_ctx;
    s.tokens = found.tokens;
    s.state = std::move(blob);
  } catch (const std::exception& e) {
    if (fd >= 0) ::close(fd);
    spdlog::warn("kv-disk: skipping {}: {}", found.file.string(), e.what());
    forget(found.file);
    return std::nullopt;
  }
  return s;
}

void SnapshotDisk::forget(const fs::path& file) {
  std::lock_guard lk(mu_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->file != file) continue;
    used_ -= it->file_bytes;
    entries_.erase(it);
    break;
  }
  std::error_code ec;
  fs::remove(file, ec);
}

bool SnapshotDisk::has_any(const memory::SnapshotKey& key) const {
  std::lock_guard lk(mu_);
  for (const auto& e : entries_)
    if (e.key == key) return true;
  // Queued ones count too: they will be there when asked for.
  for (const auto& s : queue_)
    if (s.key == key) return true;
  return false;
}

uint64_t SnapshotDisk::used() const {
  std::lock_guard lk(mu_);
  return used_;
}

size_t SnapshotDisk::count() const {
  std::lock_guard lk(mu_);
  return entries_.size();
}

}  // namespace ebb::supervisor
