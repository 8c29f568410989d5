#include "store/blob_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <openssl/evp.h>

#include "common/ascii_case.h"
#include "store/manifest.h"

namespace ebb::store {

namespace fs = std::filesystem;

struct BlobWriter::Hash {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Hash() {
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) throw BlobError("cannot start SHA-256");
  }
  ~Hash() { EVP_MD_CTX_free(ctx); }
  void update(const void* p, size_t n) { EVP_DigestUpdate(ctx, p, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) out += {digits[md[i] >> 4], digits[md[i] & 15]};
    return out;
  }
};

namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  if (err == ENOSPC || err == EDQUOT) throw BlobError(what + ": no space left on the device");
  throw BlobError(what + ": " + std::strerror(err));
}

}  // namespace

bool BlobWriter::present(const fs::path& blobs_dir, std::string_view digest) {
  auto name = blob_file_name(digest);
  std::error_code ec;
  return name && fs::is_regular_file(blobs_dir / *name, ec);
}

BlobWriter::BlobWriter(const fs::path& blobs_dir, std::string_view digest, bool resume) : hash_(new Hash) {
  auto name = blob_file_name(digest);
  if (!name) throw BlobError("invalid digest '" + std::string(digest) + "'");
  hex_ = ascii_lower(name->substr(7));
  final_ = blobs_dir / *name;
  partial_ = blobs_dir / (*name + "-partial");
  std::error_code ec;
  fs::create_directories(blobs_dir, ec);
  if (ec) throw BlobError("cannot create " + blobs_dir.string() + ": " + ec.message());
  fd_ = ::open(partial_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | (resume ? 0 : O_TRUNC), 0644);
  if (fd_ < 0) fail("cannot write " + partial_.string(), errno);
  // Hash what an earlier write left, then append after it.
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read " + partial_.string(), errno);
    if (n == 0) break;
    hash_->update(buf.data(), static_cast<size_t>(n));
    size_ += static_cast<uint64_t>(n);
  }
}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void BlobWriter::write(std::string_view bytes) {
  if (fd_ < 0) throw BlobError("blob writer already closed");
  hash_->update(bytes.data(), bytes.size());
  size_ += bytes.size();
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write " + partial_.string(), errno);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

fs::path BlobWriter::commit() {
  if (fd_ < 0) throw BlobError("blob writer already closed");
  const std::string got = hash_->hex();
  if (got != hex_) {
    discard();
    throw BlobDigestMismatch("sha256:" + hex_, "sha256:" + got);
  }
  if (::fsync(fd_) != 0) fail("cannot sync " + partial_.string(), errno);
  ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  fs::rename(partial_, final_, ec);
  if (ec) throw BlobError("cannot rename " + partial_.string() + ": " + ec.message());
  // The rename itself survives a crash once the directory is synced.
  int dir = ::open(final_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return final_;
}

void BlobWriter::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  fs::remove(partial_, ec);
}

}  // namespace ebb::store
