#include "store/store_writer.h"

#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/ascii_case.h"
#include "common/model_details.h"
#include "store/blob_writer.h"

namespace ebb::store {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json layer_json(const Layer& l) {
  json j = {{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}};
  if (!l.from.empty()) j["from"] = l.from;
  return j;
}

// Every "sha256:<64 hex>" in a text, lower case. Reading digests from the text rather than from a
// parsed manifest keeps the blobs of a manifest this build cannot parse.
void digests_in_text(std::string_view text, std::set<std::string>& out) {
  constexpr std::string_view kPrefix = "sha256:";
  for (size_t at = text.find(kPrefix); at != std::string_view::npos; at = text.find(kPrefix, at + 1)) {
    const size_t hex = at + kPrefix.size();
    if (text.size() - hex < 64) break;
    std::string d(kPrefix);
    bool ok = true;
    for (size_t i = hex; i < hex + 64 && ok; ++i) {
      ok = std::isxdigit(static_cast<unsigned char>(text[i])) != 0;
      d += ascii_lower(text[i]);
    }
    if (ok) out.insert(std::move(d));
  }
}

std::string lower_digest(std::string_view digest) {
  std::string d = ascii_lower(digest);
  if (d.rfind("sha256-", 0) == 0) d[6] = ':';
  return d;
}

// The stored model a name means (without case, as Ollama's getExistingName), else nullopt.
std::optional<StoredModel> existing(const Store& store, const ModelName& name) { return store.find(name); }

}  // namespace

std::string manifest_json(const Layer& config, const std::vector<Layer>& layers) {
  json j = {{"schemaVersion", 2}, {"mediaType", media::kManifest}, {"config", layer_json(config)}};
  j["layers"] = json::array();
  for (const auto& l : layers) j["layers"].push_back(layer_json(l));
  return j.dump();
}

std::set<std::string> manifest_digests(const Manifest& m) {
  std::set<std::string> out{lower_digest(m.config.digest)};
  for (const auto& l : m.layers) out.insert(lower_digest(l.digest));
  return out;
}

void StoreWriter::check_writable(std::string_view what) const {
  if (read_only_)
    throw ReadOnlyStoreError("the model store " + store_.root().string() +
                             " is read-only (--models-read-only): cannot " + std::string(what));
}

WrittenLayer StoreWriter::write_blob(std::string_view bytes, std::string_view media_type) const {
  check_writable("write a blob");
  const std::string digest = "sha256:" + sha256_hex(std::string(bytes));
  WrittenLayer out{{std::string(media_type), digest, static_cast<int64_t>(bytes.size()), {}}, true};
  if (BlobWriter::present(store_.blobs_dir(), digest)) return out;
  out.existed = false;
  BlobWriter w(store_.blobs_dir(), digest, /*resume=*/false);
  try {
    w.write(bytes);
    w.commit();
  } catch (...) {
    w.discard();
    throw;
  }
  return out;
}

bool StoreWriter::has_blob(std::string_view digest) const {
  if (!blob_file_name(digest)) throw std::invalid_argument("invalid digest format");
  return BlobWriter::present(store_.blobs_dir(), digest);
}

bool StoreWriter::upload_blob(std::string_view digest, const std::function<bool(std::string&)>& next) const {
  return upload_blob_from(digest, [&](const std::function<void(std::string_view)>& write) {
    std::string chunk;
    while (next(chunk)) {
      write(chunk);
      chunk.clear();
    }
  });
}

bool StoreWriter::upload_blob_from(std::string_view digest, const BlobProducer& produce) const {
  check_writable("upload a blob");
  if (has_blob(digest)) return false;
  BlobWriter w(store_.blobs_dir(), digest, /*resume=*/false);
  try {
    produce([&](std::string_view bytes) { w.write(bytes); });
    w.commit();
  } catch (const BlobDigestMismatch& e) {  // commit() deleted the bytes
    throw std::invalid_argument("digest mismatch, expected \"" + lower_digest(digest) + "\", got \"" + e.got + "\"");
  } catch (...) {
    w.discard();  // an upload has no resume: a broken one leaves nothing
    throw;
  }
  return true;
}

std::string StoreWriter::write_manifest(const ModelName& name, const Layer& config,
                                        const std::vector<Layer>& layers) const {
  check_writable("write a manifest");
  std::string bytes = manifest_json(config, layers);
  store_.write_manifest(name, bytes);
  return bytes;
}

void StoreWriter::copy(std::string_view source, std::string_view destination) const {
  check_writable("copy a model");
  const ModelName src = ModelName::parse(source);
  if (!src.valid()) throw std::invalid_argument("source \"" + std::string(source) + "\" is invalid");
  ModelName dst = ModelName::parse(destination);
  if (!dst.valid()) throw std::invalid_argument("destination \"" + std::string(destination) + "\" is invalid");
  const auto from = existing(store_, src);
  if (!from) throw ModelNotFoundError("model \"" + std::string(source) + "\" not found");
  const std::string bytes = read_manifest_file(from->manifest_file);
  std::set<std::string> replaced;
  if (const auto old = existing(store_, dst)) {
    dst = old->name;  // overwrite the stored spelling rather than add a second one
    digests_in_text(read_manifest_file(old->manifest_file), replaced);
  }
  store_.write_manifest(dst, bytes);
  prune(replaced);
}

void StoreWriter::remove(std::string_view model) const {
  check_writable("delete a model");
  const ModelName name = ModelName::parse(model);
  if (!name.valid()) throw std::invalid_argument("name \"" + std::string(model) + "\" is invalid");
  const auto found = existing(store_, name);
  if (!found) throw ModelNotFoundError("model '" + std::string(model) + "' not found");
  std::set<std::string> named;
  digests_in_text(read_manifest_file(found->manifest_file), named);
  std::error_code ec;
  if (!fs::remove(found->manifest_file, ec) || ec)
    throw std::runtime_error("cannot remove " + found->manifest_file.string() + ": " + ec.message());
  // model/, namespace/ and host/ directories left empty (rmdir fails on any other: kept).
  for (fs::path dir = found->manifest_file.parent_path(); dir != store_.manifests_dir() && dir.has_relative_path();
       dir = dir.parent_path())
    if (::rmdir(dir.c_str()) != 0) break;
  prune(named);
}

std::vector<std::string> StoreWriter::prune(const std::set<std::string>& digests) const {
  std::vector<std::string> removed;
  if (digests.empty()) return removed;
  check_writable("delete blobs");
  // Every file under manifests/, whatever its name or whether it parses (a temporary manifest of a
  // create in progress included): a blob any of them mentions stays.
  std::set<std::string> referenced;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(store_.manifests_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    try {
      digests_in_text(read_manifest_file(it->path()), referenced);
    } catch (const std::runtime_error&) {
      return removed;  // a manifest that cannot be read might name any blob: delete none
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw std::runtime_error("cannot read " + store_.manifests_dir().string() + ": " + ec.message());
  for (const auto& d : digests) {
    if (referenced.count(lower_digest(d))) continue;
    const auto path = store_.blob_path(d);
    if (!path) continue;
    if (fs::remove(*path, ec)) removed.push_back(lower_digest(d));
  }
  return removed;
}

}  // namespace ebb::store
