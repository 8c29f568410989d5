#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fstream>
#include <sstream>
#include <system_error>

namespace ebb::store {

namespace fs = std::filesystem;

namespace {

// Manifests are small (a few KiB); a larger file is not one.
constexpr uintmax_t kMaxManifestBytes = 4 << 20;

// Since the Unix epoch (std::filesystem's clock has another epoch in libstdc++).
int64_t mtime_ns(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

[[noreturn]] void write_failed(const fs::path& file, int err) {
  if (err == ENOSPC || err == EDQUOT)
    throw std::runtime_error("cannot write " + file.string() + ": no space left on the device");
  throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(err));
}

void sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void Store::write_manifest(const ModelName& name, std::string_view bytes) const {
  if (!name.valid()) throw std::invalid_argument("invalid model name '" + name.full() + "'");
  const fs::path file = manifests_dir() / name.manifest_path();
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) throw std::runtime_error("cannot create " + file.parent_path().string() + ": " + ec.message());
  // The temporary name is no valid tag ('.' cannot start one), so list() never reads it.
  std::string tmp = (file.parent_path() / ("." + file.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) write_failed(file, errno);
  auto fail = [&](int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    write_failed(file, err);
  };
  ::fchmod(fd, 0644);
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(n < 0 ? errno : ENOSPC);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail(errno);
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    write_failed(file, err);
  }
  sync_dir(file.parent_path());
}

std::string read_manifest_file(const fs::path& file) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(file, ec);
  if (ec) throw std::runtime_error("cannot read " + file.string() + ": " + ec.message());
  if (size > kMaxManifestBytes) throw std::runtime_error(file.string() + " is larger than a manifest can be");
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + file.string());
  return bytes.str();
}

std::optional<fs::path> Store::blob_path(std::string_view digest) const {
  auto name = blob_file_name(digest);
  if (!name) return std::nullopt;
  return blobs_dir() / *name;
}

StoredModel Store::read(const ModelName& name, const fs::path& file) const {
  StoredModel m{name, file, mtime_ns(file), std::nullopt, {}, {}};
  std::string bytes;
  try {
    bytes = read_manifest_file(file);
  } catch (const std::runtime_error& e) {
    m.error = std::string("cannot read its manifest: ") + e.what();
    return m;
  }
  try {
    m.manifest = Manifest::parse(bytes);
  } catch (const std::invalid_argument& e) {
    m.error = e.what();
    return m;
  }
  for (auto type : {media::kProjector, media::kAdapter})
    if (m.manifest->layer(type))
      m.error = std::string("it has a layer ebb cannot serve yet (") + std::string(type) + ")";
  const Layer* model = m.manifest->layer(media::kModel);
  if (!model) {
    if (m.error.empty()) m.error = "its manifest has no model layer";
    return m;
  }
  m.model_blob = *blob_path(model->digest);  // parse() checked the digest
  std::error_code ec;
  if (m.error.empty() && !fs::is_regular_file(m.model_blob, ec))
    m.error = "its model blob is missing (" + m.model_blob.filename().string() + ")";
  return m;
}

std::vector<StoredModel> Store::list() const {
  std::vector<StoredModel> out;
  std::error_code ec;
  const fs::path top = manifests_dir();
  if (!fs::is_directory(top, ec)) return out;
  // Exactly four levels: host/namespace/model/tag. Directories only on the way down; symlinks
  // are followed as Ollama's Glob does.
  auto dirs = [&](const fs::path& p) {
    std::vector<fs::path> v;
    for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec)) v.push_back(it->path());
    return v;
  };
  for (const auto& host : dirs(top))
    for (const auto& ns : dirs(host))
      for (const auto& model : dirs(ns))
        for (fs::directory_iterator it(model, ec), end; !ec && it != end; it.increment(ec)) {
          if (!it->is_regular_file(ec)) continue;
          ModelName n{host.filename().string(), ns.filename().string(), model.filename().string(),
                      it->path().filename().string()};
          if (!n.valid()) continue;  // not a name: a stray file (".DS_Store", a temp file)
          out.push_back(read(n, it->path()));
        }
  return out;
}

std::optional<StoredModel> Store::find(const ModelName& name) const {
  if (!name.valid()) return std::nullopt;
  const fs::path file = manifests_dir() / name.manifest_path();
  std::error_code ec;
  if (fs::is_regular_file(file, ec)) return read(name, file);
  // Names are compared without case: a store written on a case-insensitive disk, or by hand.
  for (auto& m : list())
    if (m.name.same_as(name)) return m;
  return std::nullopt;
}

}  // namespace ebb::store
