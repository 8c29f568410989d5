#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "store/manifest.h"
#include "store/registry_client.h"

namespace ebb::store {

namespace fs = std::filesystem;

namespace {

struct Push {
  const ModelName& name;
  const RegistryOptions& options;
  const RegistryProgress& progress;
  const RegistryCancel& cancelled;
  RegistrySession& session;

  void report(const Layer& layer, int64_t completed) const {
    if (progress)
      progress({{"status", "pushing " + layer.digest.substr(7, 12)},
                {"digest", layer.digest},
                {"total", layer.size},
                {"completed", completed}});
  }

  // The upload's next URL: Docker-Upload-Location, else Location, against the URL that answered.
  Url next_location(const HttpAnswer& a) const {
    std::string location = a.header("Docker-Upload-Location");
    if (location.empty()) location = a.header("Location");
    auto url = resolve_location(a.url, location);
    if (!url) session.fail("registry answered an upload request without a usable Location ('" + location + "')");
    return *url;
  }

  void upload(const Layer& layer, const fs::path& file) const {
    auto head = session.send("HEAD", session.at(blob_target(name, layer.digest)));
    if (head.ok()) return report(layer, layer.size);  // the registry has it
    if (head.status != 404) session.fail_status(head, "checking blob " + layer.digest);

    auto start = session.send("POST", session.at(upload_target(name)));
    if (start.status == 201) return report(layer, layer.size);  // mounted
    if (start.status != 202) session.fail_status(start, "starting the upload of blob " + layer.digest);
    Url location = next_location(start);

    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) session.fail("cannot read " + file.string() + ": " + std::strerror(errno));
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    const int64_t chunk = static_cast<int64_t>(std::max<uint64_t>(options.upload_chunk, 1));
    std::string buf;
    for (int64_t at = 0; at < layer.size; at += chunk) {
      if (cancelled && cancelled()) throw RegistryCancelled(session.op() + ": cancelled");
      const int64_t n = std::min(chunk, layer.size - at);
      buf.resize(static_cast<size_t>(n));
      for (int64_t got = 0; got < n;) {
        const ssize_t r = ::pread(fd, buf.data() + got, static_cast<size_t>(n - got), at + got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
          session.fail("cannot read " + file.string() +
                       (r < 0 ? ": " + std::string(std::strerror(errno)) : ": it is shorter than its manifest says"));
        got += r;
      }
      auto patch =
          session.send("PATCH", location, {{"Content-Range", std::to_string(at) + "-" + std::to_string(at + n - 1)}},
                       buf, "application/octet-stream");
      if (patch.status != 202) session.fail_status(patch, "uploading blob " + layer.digest);
      location = next_location(patch);
      report(layer, at + n);
    }
    location.target = append_query(location.target, "digest", layer.digest);
    auto done = session.send("PUT", location, {}, {}, "application/octet-stream");
    if (done.status != 201 && !done.ok()) session.fail_status(done, "finishing the upload of blob " + layer.digest);
    report(layer, layer.size);
  }
};

}  // namespace

void push_model(const Store& store, const ModelName& name, const RegistryOptions& options,
                const RegistryProgress& progress, const RegistryCancel& cancelled) {
  const std::string op = "push " + name.full();
  if (!name.valid()) throw RegistryError(op + ": invalid model name");
  auto emit = [&](const char* status) {
    if (progress) progress({{"status", status}});
  };
  emit("retrieving manifest");
  auto stored = store.find(name);
  if (!stored) throw RegistryError(op + ": the store has no such model");
  if (!stored->manifest) throw RegistryError(op + ": " + stored->error);
  // The bytes as stored, so the registry's manifest digest is the one the store shows.
  std::string bytes;
  try {
    bytes = read_manifest_file(stored->manifest_file);
  } catch (const std::runtime_error& e) {
    throw RegistryError(op + ": " + e.what());
  }
  const Manifest& manifest = *stored->manifest;

  const Url origin = registry_origin(name, options.insecure);
  RegistrySession session(op, origin, options.credentials ? options.credentials : docker_credentials(origin.host),
                          {options.connect_timeout_s, options.read_timeout_s});
  Push push{name, options, progress, cancelled, session};
  std::vector<Layer> blobs(manifest.layers.begin(), manifest.layers.end());
  blobs.push_back(manifest.config);
  std::vector<std::string> seen;
  for (const auto& layer : blobs) {
    if (std::find(seen.begin(), seen.end(), layer.digest) != seen.end()) continue;
    seen.push_back(layer.digest);
    auto path = store.blob_path(layer.digest);
    std::error_code ec;
    if (!path || !fs::is_regular_file(*path, ec))
      throw RegistryError(op + ": blob " + layer.digest + " is missing from the store");
    if (static_cast<int64_t>(fs::file_size(*path, ec)) != layer.size)
      throw RegistryError(op + ": blob " + layer.digest + " in the store is not the size its manifest gives");
    push.upload(layer, *path);
  }
  emit("pushing manifest");
  const std::string media_type = manifest.media_type.empty() ? std::string(media::kManifest) : manifest.media_type;
  auto put = session.send("PUT", session.at(manifest_target(name)), {}, bytes, media_type);
  if (!put.ok()) session.fail_status(put, "pushing the manifest");
  emit("success");
}

}  // namespace ebb::store
