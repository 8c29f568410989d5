#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "common/ascii_case.h"
#include "store/blob_writer.h"
#include "store/manifest.h"
#include "store/registry_client.h"

namespace ebb::store {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kProgressEvery = std::chrono::milliseconds(100);
constexpr int64_t kMaxBlobSize = int64_t{1} << 42;  // 4 TiB

// One blob download in this process; a second pull of the same blob waits on it.
struct InFlight {
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int64_t> completed{0};
  int64_t total = 0;
  bool done = false;
  std::exception_ptr error;
};

std::mutex table_mu;
std::map<std::string, std::shared_ptr<InFlight>>& in_flight() {
  static auto* table = new std::map<std::string, std::shared_ptr<InFlight>>();
  return *table;
}

struct Pull {
  const Store& store;
  const ModelName& name;
  const RegistryOptions& options;
  const RegistryProgress& progress;
  const RegistryCancel& cancelled;
  RegistrySession& session;

  bool cancel_requested() const { return cancelled && cancelled(); }

  void report(const Layer& layer, int64_t completed) const {
    if (progress)
      progress({{"status", "pulling " + layer.digest.substr(7, 12)},
                {"digest", layer.digest},
                {"total", layer.size},
                {"completed", completed}});
  }

  [[noreturn]] void cancel() const { throw RegistryCancelled(session.op() + ": cancelled"); }

  std::string blob_name(const Layer& layer) const { return "blob " + layer.digest; }

  // Emits progress at most every kProgressEvery.
  struct Ticker {
    Clock::time_point last{};
    bool due() {
      auto now = Clock::now();
      if (now - last < kProgressEvery) return false;
      last = now;
      return true;
    }
  };

  void commit(BlobWriter& writer, const Layer& layer) const {
    if (static_cast<int64_t>(writer.size()) != layer.size)
      session.fail("registry sent " + std::to_string(writer.size()) + " of the " + std::to_string(layer.size) +
                   " bytes of " + blob_name(layer));
    try {
      writer.commit();
    } catch (const BlobError& e) {
      session.fail(blob_name(layer) + " from the registry is corrupt (" + e.what() + "); its partial file was deleted");
    }
  }

  // One GET for the rest of the blob after what a kept partial file holds.
  void stream(const Layer& layer, InFlight& flight) const {
    auto writer = std::make_unique<BlobWriter>(store.blobs_dir(), layer.digest, /*resume=*/true);
    if (static_cast<int64_t>(writer->size()) > layer.size) {
      writer->discard();
      writer = std::make_unique<BlobWriter>(store.blobs_dir(), layer.digest, /*resume=*/false);
    }
    flight.completed = static_cast<int64_t>(writer->size());
    if (static_cast<int64_t>(writer->size()) < layer.size) {
      httplib::Headers headers;
      const uint64_t from = writer->size();
      if (from > 0) headers.emplace("Range", "bytes=" + std::to_string(from) + "-");
      enum class Stop { None, Cancel, TooMuch, Write } stop = Stop::None;
      std::string write_error;
      bool first = true;
      Ticker ticker;
      auto answer = session.get(
          session.at(blob_target(name, layer.digest)), headers, [&](const HttpAnswer& head, std::string_view bytes) {
            if (first) {
              first = false;
              // A registry that ignores Range sends the whole blob: start over.
              if (from > 0 && head.status != 206) {
                writer->discard();
                writer = std::make_unique<BlobWriter>(store.blobs_dir(), layer.digest, /*resume=*/false);
              }
            }
            if (cancel_requested()) return (stop = Stop::Cancel), false;
            if (static_cast<int64_t>(writer->size() + bytes.size()) > layer.size) return (stop = Stop::TooMuch), false;
            try {
              writer->write(bytes);
            } catch (const BlobError& e) {
              write_error = e.what();
              return (stop = Stop::Write), false;
            }
            flight.completed = static_cast<int64_t>(writer->size());
            if (ticker.due()) report(layer, flight.completed);
            return true;
          });
      switch (stop) {
        case Stop::Cancel: cancel();
        case Stop::TooMuch:
          writer->discard();
          session.fail("registry sent more than the " + std::to_string(layer.size) + " bytes the manifest gives " +
                       blob_name(layer));
        case Stop::Write: session.fail(write_error);
        case Stop::None: break;
      }
      if (!answer.ok()) session.fail_status(answer, "fetching " + blob_name(layer));
    }
    commit(*writer, layer);
  }

  // Parallel Range requests written at their offsets into the partial file, hashed after.
  void parts(const Layer& layer, InFlight& flight) const {
    const fs::path partial = store.blobs_dir() / (*blob_file_name(layer.digest) + "-partial");
    std::error_code ec;
    fs::create_directories(store.blobs_dir(), ec);
    const int fd = ::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) session.fail("cannot write " + partial.string() + ": " + std::strerror(errno));
    struct stat st {};
    ::fstat(fd, &st);
    int64_t have = st.st_size;
    if (have > layer.size) {
      if (::ftruncate(fd, 0) != 0) {
        ::close(fd);
        session.fail("cannot truncate " + partial.string() + ": " + std::strerror(errno));
      }
      have = 0;
    }
    int64_t part_size = static_cast<int64_t>(options.part_size);
    if (part_size <= 0) part_size = std::clamp<int64_t>(layer.size / 16, 16 << 20, 512 << 20);
    struct Part {
      int64_t start, size;
      std::atomic<int64_t> done{0};
    };
    std::vector<std::unique_ptr<Part>> list;
    for (int64_t at = have; at < layer.size; at += part_size) {
      list.push_back(std::make_unique<Part>());
      list.back()->start = at;
      list.back()->size = std::min(part_size, layer.size - at);
    }

    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};
    std::atomic<int> running{0};
    std::mutex mu;
    std::condition_variable cv;
    std::exception_ptr error;
    auto fail_with = [&](std::exception_ptr e) {
      std::lock_guard lock(mu);
      if (!error) error = e;
      stop = true;
    };
    auto worker = [&] {
      for (size_t i; !stop && (i = next++) < list.size();) {
        Part& p = *list[i];
        try {
          httplib::Headers headers{
              {"Range", "bytes=" + std::to_string(p.start) + "-" + std::to_string(p.start + p.size - 1)}};
          std::string problem;
          auto answer = session.get(
              session.at(blob_target(name, layer.digest)), headers,
              [&](const HttpAnswer& head, std::string_view bytes) {
                if (stop) return false;
                if (head.status != 206) {
                  problem = "registry answered a Range request for " + blob_name(layer) + " with " +
                            std::to_string(head.status);
                  return false;
                }
                if (p.done + static_cast<int64_t>(bytes.size()) > p.size) {
                  problem = "registry sent more than asked for a part of " + blob_name(layer);
                  return false;
                }
                while (!bytes.empty()) {
                  ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), p.start + p.done);
                  if (n < 0 && errno == EINTR) continue;
                  if (n <= 0) {
                    const int err = n < 0 ? errno : ENOSPC;
                    problem = "cannot write " + partial.string() + ": " +
                              (err == ENOSPC || err == EDQUOT ? "no space left on the device" : std::strerror(err));
                    return false;
                  }
                  bytes.remove_prefix(static_cast<size_t>(n));
                  p.done += n;
                  flight.completed += n;
                }
                return true;
              });
          if (!problem.empty()) session.fail(problem);
          if (stop) break;
          if (!answer.ok()) session.fail_status(answer, "fetching " + blob_name(layer));
          if (p.done != p.size)
            session.fail("registry sent " + std::to_string(p.done) + " of the " + std::to_string(p.size) +
                         " bytes of a part of " + blob_name(layer));
        } catch (...) {
          fail_with(std::current_exception());
        }
      }
      std::lock_guard lock(mu);
      --running;
      cv.notify_all();
    };

    flight.completed = have;
    const int threads = static_cast<int>(std::min<size_t>(std::max(1, options.connections), list.size()));
    std::vector<std::thread> pool;
    running = threads;
    for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
    // This thread reports progress and polls the cancel check while the parts download.
    {
      std::unique_lock lock(mu);
      while (running > 0) {
        cv.wait_for(lock, kProgressEvery, [&] { return running == 0; });
        lock.unlock();
        report(layer, flight.completed);
        if (!stop && cancel_requested())
          fail_with(std::make_exception_ptr(RegistryCancelled(session.op() + ": cancelled")));
        lock.lock();
      }
    }
    for (auto& t : pool) t.join();
    if (error) {
      // Keep only the bytes that run from the start without a gap, so a later pull resumes after them.
      int64_t prefix = have;
      for (const auto& p : list) {
        prefix = p->start + p->done;
        if (p->done != p->size) break;
      }
      const bool kept = ::ftruncate(fd, prefix) == 0;
      ::close(fd);
      if (!kept) fs::remove(partial, ec);
      std::rethrow_exception(error);
    }
    ::close(fd);
    BlobWriter writer(store.blobs_dir(), layer.digest, /*resume=*/true);
    commit(writer, layer);
  }

  void download(const Layer& layer, InFlight& flight) const {
    if (layer.size > static_cast<int64_t>(options.parallel_threshold))
      parts(layer, flight);
    else
      stream(layer, flight);
  }

  // Fetches a blob unless the store has it, or waits for a download of it already under way.
  void fetch(const Layer& layer) const {
    for (;;) {
      if (BlobWriter::present(store.blobs_dir(), layer.digest)) return report(layer, layer.size);
      const std::string key = (store.blobs_dir() / *blob_file_name(layer.digest)).string();
      std::shared_ptr<InFlight> flight;
      bool owner = false;
      {
        std::lock_guard lock(table_mu);
        auto& slot = in_flight()[key];
        if (!slot) {
          slot = std::make_shared<InFlight>();
          slot->total = layer.size;
          owner = true;
        }
        flight = slot;
      }
      if (owner) {
        std::exception_ptr error;
        try {
          download(layer, *flight);
        } catch (...) {
          error = std::current_exception();
        }
        {
          std::lock_guard lock(table_mu);
          in_flight().erase(key);
        }
        {
          std::lock_guard lock(flight->mu);
          flight->done = true;
          flight->error = error;
        }
        flight->cv.notify_all();
        if (error) std::rethrow_exception(error);
        return report(layer, layer.size);
      }
      std::exception_ptr error;
      {
        std::unique_lock lock(flight->mu);
        while (!flight->done) {
          flight->cv.wait_for(lock, kProgressEvery, [&] { return flight->done; });
          if (flight->done) break;
          lock.unlock();
          report(layer, flight->completed);
          if (cancel_requested()) cancel();
          lock.lock();
        }
        error = flight->error;
      }
      if (!error) continue;  // the blob is in place now
      try {
        std::rethrow_exception(error);
      } catch (const RegistryCancelled&) {
        continue;  // that pull was cancelled, not this one: download it here
      } catch (const std::exception& e) {
        session.fail(std::string("the download this pull shared failed: ") + e.what());
      }
    }
  }
};

}  // namespace

void pull_model(const Store& store, const ModelName& name, const RegistryOptions& options,
                const RegistryProgress& progress, const RegistryCancel& cancelled) {
  const std::string op = "pull " + name.full();
  if (!name.valid()) throw RegistryError(op + ": invalid model name");
  auto emit = [&](const char* status) {
    if (progress) progress({{"status", status}});
  };
  emit("pulling manifest");
  const Url origin = registry_origin(name, options.insecure);
  RegistrySession session(op, origin, options.credentials ? options.credentials : docker_credentials(origin.host),
                          {options.connect_timeout_s, options.read_timeout_s});
  auto answer = session.send("GET", session.at(manifest_target(name)), {{"Accept", std::string(media::kManifest)}}, {},
                             {}, options.max_manifest_bytes);
  if (answer.too_large)
    session.fail("the registry's manifest is larger than " + std::to_string(options.max_manifest_bytes) + " bytes");
  if (!answer.ok()) session.fail_status(answer, "fetching the manifest");
  Manifest manifest;
  try {
    manifest = Manifest::parse(answer.body);
  } catch (const std::exception& e) {
    session.fail(std::string("the registry sent an unusable manifest: ") + e.what());
  }
  std::vector<Layer> blobs = manifest.layers;
  blobs.push_back(manifest.config);
  std::vector<Layer> unique;
  for (auto& l : blobs) {
    // The digest as registries spell it; the size within reason, since parts are planned from it.
    l.digest = "sha256:" + ascii_lower(blob_file_name(l.digest)->substr(7));
    if (l.size > kMaxBlobSize)
      session.fail("the manifest gives blob " + l.digest + " an implausible size of " + std::to_string(l.size));
    if (std::none_of(unique.begin(), unique.end(), [&](const Layer& u) { return u.digest == l.digest; }))
      unique.push_back(l);
  }

  Pull pull{store, name, options, progress, cancelled, session};
  for (const auto& layer : unique) {
    if (cancelled && cancelled()) pull.cancel();
    pull.fetch(layer);
  }
  emit("verifying sha256 digest");  // each blob was verified before its rename
  emit("writing manifest");
  try {
    store.write_manifest(name, answer.body);
  } catch (const std::exception& e) {
    session.fail(e.what());
  }
  emit("success");
}

}  // namespace ebb::store
