#pragma once
// Every write to a models directory goes through a StoreWriter, so a read-only store
// (--models-read-only) refuses all of them in one place. Blobs go in before the manifests that
// name them and manifests are renamed into place, so a reader never sees half a model; a delete
// removes the manifest first, then only blobs that no remaining manifest names.
#include <cstdint>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/manifest.h"
#include "store/model_name.h"
#include "store/store.h"

namespace ebb::store {

// A write asked of a read-only store.
struct ReadOnlyStoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The model a request names is not in the store (a 404).
struct ModelNotFoundError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A layer freshly written, or found already there ("using existing layer" in Ollama's progress).
struct WrittenLayer {
  Layer layer;
  bool existed = false;
};

class StoreWriter {
 public:
  StoreWriter(Store store, bool read_only) : store_(std::move(store)), read_only_(read_only) {}

  const Store& store() const { return store_; }
  bool read_only() const { return read_only_; }
  // Throws ReadOnlyStoreError naming `what` ("delete a model") when the store is read-only.
  void check_writable(std::string_view what) const;

  // Small blobs (template, params, config...): `bytes` as a blob named by its SHA-256, through
  // BlobWriter; a blob already there is kept as it is.
  WrittenLayer write_blob(std::string_view bytes, std::string_view media_type) const;

  // HEAD /api/blobs/:digest. Throws std::invalid_argument for a malformed digest. Reading: allowed
  // on a read-only store.
  bool has_blob(std::string_view digest) const;
  // POST /api/blobs/:digest: `next` fills its argument with the next chunk of the body and returns
  // false at its end. Returns false when the blob was already there (the body is not read: Ollama
  // answers 200, else 201). Throws std::invalid_argument for a malformed digest or for bytes of
  // another digest ("digest mismatch, expected \"sha256:…\", got \"sha256:…\"", nothing kept).
  bool upload_blob(std::string_view digest, const std::function<bool(std::string&)>& next) const;
  // The same, for a body that arrives by callbacks (an HTTP upload): `produce` calls its argument
  // with each piece in order.
  using BlobProducer = std::function<void(const std::function<void(std::string_view)>& write)>;
  bool upload_blob_from(std::string_view digest, const BlobProducer& produce) const;

  // Writes the source's manifest under the destination's name: the same blobs, no copy.
  // ModelNotFoundError for a missing source, std::invalid_argument for an invalid name.
  void copy(std::string_view source, std::string_view destination) const;
  // Removes a model's manifest (and manifest directories left empty), then the blobs it named
  // that no other manifest names. ModelNotFoundError when there is no such model.
  void remove(std::string_view model) const;

  // Writes a manifest made of `config` and `layers` under `name` (the blobs must be in place).
  // Returns the manifest's bytes.
  std::string write_manifest(const ModelName& name, const Layer& config, const std::vector<Layer>& layers) const;
  // Deletes those of `digests` that no manifest names; returns the digests deleted. A manifest
  // that does not parse still protects every digest its text mentions.
  std::vector<std::string> prune(const std::set<std::string>& digests) const;

 private:
  Store store_;
  bool read_only_;
};

// A manifest's JSON, as Ollama writes it: schemaVersion 2, Docker's media type, config, layers.
std::string manifest_json(const Layer& config, const std::vector<Layer>& layers);

// Every digest a manifest names (config and layers).
std::set<std::string> manifest_digests(const Manifest& m);

}  // namespace ebb::store
