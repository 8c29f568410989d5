#pragma once
// Writes one blob into a store's blobs/ so that a crash at any point leaves the store readable:
// bytes go to blobs/sha256-<hex>-partial while they are hashed; commit() checks the SHA-256
// against the digest, syncs and renames the file into place. A partial file left by an
// interrupted write is resumed: its bytes are hashed again and the writer continues after them
// (a download asks for the rest with a Range request).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace ebb::store {

struct BlobError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The bytes hashed to another digest than the one promised: the sender's fault (a 400), where
// other BlobErrors are the server's.
struct BlobDigestMismatch : BlobError {
  BlobDigestMismatch(std::string expected_digest, std::string got_digest)
      : BlobError("digest mismatch: expected " + expected_digest + ", got " + got_digest),
        expected(std::move(expected_digest)),
        got(std::move(got_digest)) {}
  std::string expected, got;  // "sha256:<hex>"
};

class BlobWriter {
 public:
  // `digest`: the blob's "sha256:<hex>". Throws BlobError for a malformed digest or a directory
  // that cannot be written. resume: keep the bytes of an earlier partial file.
  BlobWriter(const std::filesystem::path& blobs_dir, std::string_view digest, bool resume);
  ~BlobWriter();  // closes; the partial file stays for a later resume unless discard() ran
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Bytes already held (from a resumed partial file, then written).
  uint64_t size() const { return size_; }
  // Throws BlobError (a full disk says so).
  void write(std::string_view bytes);
  // Verifies and renames into place; returns the blob's path. On a digest mismatch the partial
  // file is deleted and BlobDigestMismatch says which digest came instead.
  std::filesystem::path commit();
  // Deletes the partial file.
  void discard();

  // Whether the store already has the blob (a complete, renamed file).
  static bool present(const std::filesystem::path& blobs_dir, std::string_view digest);

 private:
  struct Hash;
  std::filesystem::path final_, partial_;
  std::string hex_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::unique_ptr<Hash> hash_;
};

}  // namespace ebb::store
