#pragma once
// Ollama's pull and push against an OCI/Docker registry (registry.ollama.ai, hf.co, a private
// docker-registry), as a library: the HTTP layer streams the progress objects as NDJSON.
//
// Pull fetches the manifest, then every blob the store lacks (resuming a kept partial file with a
// Range request; big blobs in parallel Range parts), verifies each blob's SHA-256 before renaming
// it into place, and writes the manifest last, so a failure leaves no manifest behind. Two pulls
// of one blob at once (any threads of this process) share one download.
// Push uploads the blobs the registry lacks (HEAD, POST, PATCH chunks, PUT ?digest=) and then
// the manifest's bytes as they are stored.
// Errors throw RegistryError (registry_http.h) naming the operation, the host and the status.
// A failed parallel download keeps only the gapless bytes from the blob's start for a resume; a
// process killed mid-way may leave gaps, which the next pull's SHA-256 check finds (it then
// deletes the partial file and fails once).
#include <cstdint>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "store/docker_config.h"
#include "store/model_name.h"
#include "store/registry_http.h"
#include "store/store.h"

namespace ebb::store {

struct RegistryOptions {
  bool insecure = false;                   // http instead of https (Ollama's "insecure": true)
  std::optional<Credentials> credentials;  // unset: Docker's config.json for the host
  uint64_t parallel_threshold = 64 << 20;  // blobs larger than this download in parallel parts
  uint64_t part_size = 0;                  // bytes per part; 0: total/16 within [16 MiB, 512 MiB]
  int connections = 8;                     // parts downloading at once
  uint64_t upload_chunk = 16 << 20;        // bytes per PATCH of a push
  size_t max_manifest_bytes = 4 << 20;     // a larger manifest is refused
  int connect_timeout_s = 10;
  int read_timeout_s = 60;
};

// Called with each progress object ({"status":…} or {"status":"pulling <12 hex>","digest",
// "total","completed"}), always on the calling thread.
using RegistryProgress = std::function<void(const nlohmann::json&)>;
// Polled during transfers, on the calling thread only; true stops them with RegistryCancelled.
using RegistryCancel = std::function<bool()>;

// Pulls `name` (a valid, fully qualified name) into the store. Throws RegistryError.
void pull_model(const Store& store, const ModelName& name, const RegistryOptions& options,
                const RegistryProgress& progress, const RegistryCancel& cancelled = {});
// Pushes the stored model `name` to its registry. Throws RegistryError.
void push_model(const Store& store, const ModelName& name, const RegistryOptions& options,
                const RegistryProgress& progress, const RegistryCancel& cancelled = {});

}  // namespace ebb::store
