// The registry client against a replay server (an httplib::Server playing a registry): error
// statuses, Basic and Bearer auth with credentials from a DOCKER_CONFIG, two pulls sharing one
// download, big blobs in parallel Range parts, and a connection cut mid-blob then resumed.
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "registry_fixture.h"
#include "store/registry_auth.h"

namespace ebb::test {
namespace {

using store::ModelName;
using store::RegistryError;
using store::RegistryOptions;
using store::Store;

const std::string kBlobRoute = R"(/v2/me/m/blobs/(sha256:[0-9a-f]{64}))";

class RegistryReplay : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = std::getenv("DOCKER_CONFIG");
    had_config_ = old != nullptr;
    if (old) saved_config_ = old;
    config_dir_ = scratch_dir("ebb-docker-config");
    ::setenv("DOCKER_CONFIG", config_dir_.c_str(), 1);
    options_.insecure = true;
  }
  void TearDown() override {
    if (had_config_)
      ::setenv("DOCKER_CONFIG", saved_config_.c_str(), 1);
    else
      ::unsetenv("DOCKER_CONFIG");
  }
  void login(const std::string& host, const std::string& user, const std::string& pass) {
    std::ofstream(config_dir_ / "config.json")
        << json{{"auths", {{"http://" + host, {{"auth", store::base64_encode(user + ":" + pass)}}}}}}.dump();
  }
  // Serves `model` as me/m:v1; `gate` (when set) may refuse a request with its own answer.
  void serve(const FakeModel& model, std::function<bool(const httplib::Request&, httplib::Response&)> gate = {}) {
    model_ = model;
    gate_ = std::move(gate);
    replay_.server.Get("/v2/me/m/manifests/v1", [this](const httplib::Request& req, httplib::Response& res) {
      if (gate_ && !gate_(req, res)) return;
      res.set_content(model_.manifest, std::string(store::media::kManifest));
    });
    replay_.server.Get(kBlobRoute, [this](const httplib::Request& req, httplib::Response& res) {
      if (gate_ && !gate_(req, res)) return;
      blob_gets_++;
      {
        std::lock_guard lock(mu_);
        ranges_.push_back(req.get_header_value("Range"));
      }
      auto it = model_.blobs.find(req.matches[1]);
      if (it == model_.blobs.end()) {
        res.status = 404;
        return;
      }
      if (blob_hook_ && blob_hook_(req, res, it->second)) return;
      res.set_content(it->second, "application/octet-stream");
    });
    replay_.start();
  }
  ModelName name() const { return ModelName::parse(replay_.host() + "/me/m:v1"); }
  std::string pull_error(const Store& s) {
    try {
      store::pull_model(s, name(), options_, nullptr);
    } catch (const RegistryError& e) {
      return e.what();
    }
    return "(no error)";
  }
  // Bytes the Range headers asked for, an open range ending at `size`.
  size_t requested(size_t size) {
    std::lock_guard lock(mu_);
    size_t total = 0;
    for (const auto& r : ranges_) {
      if (r.empty()) continue;
      const size_t dash = r.find('-');
      const size_t from = std::stoull(r.substr(6, dash - 6));
      const size_t to = dash + 1 < r.size() ? std::stoull(r.substr(dash + 1)) + 1 : size;
      total += to - from;
    }
    return total;
  }

  ReplayServer replay_;
  FakeModel model_;
  std::function<bool(const httplib::Request&, httplib::Response&)> gate_;
  // Answers a blob GET itself when it returns true.
  std::function<bool(const httplib::Request&, httplib::Response&, const std::string&)> blob_hook_;
  std::atomic<int> blob_gets_{0};
  std::mutex mu_;
  std::vector<std::string> ranges_;
  RegistryOptions options_;
  fs::path config_dir_;
  bool had_config_ = false;
  std::string saved_config_;
};

TEST_F(RegistryReplay, ServerErrorNamesHostStatusAndMessage) {
  serve(FakeModel::make(1000, 10), [](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content(R"({"errors":[{"code":"UNKNOWN","message":"disk on fire"}]})", "application/json");
    return false;
  });
  Store s(scratch_dir("ebb-pull-dst"));
  const std::string what = pull_error(s);
  EXPECT_NE(what.find("pull " + name().full() + ": "), std::string::npos) << what;
  EXPECT_NE(what.find("registry answered 500 Internal Server Error (disk on fire)"), std::string::npos) << what;
  EXPECT_FALSE(s.find(name()));
}

TEST_F(RegistryReplay, UnauthorizedWithoutCredentialsSaysSo) {
  serve(FakeModel::make(1000, 11), [](const httplib::Request&, httplib::Response& res) {
    res.status = 401;
    res.set_header("WWW-Authenticate", R"(Basic realm="replay")");
    return false;
  });
  Store s(scratch_dir("ebb-pull-dst"));
  std::string what = pull_error(s);
  EXPECT_NE(what.find("401 Unauthorized"), std::string::npos) << what;
  EXPECT_NE(what.find("has none for " + replay_.host()), std::string::npos) << what;
  // With credentials the registry still refuses: authentication failed.
  login(replay_.host(), "me", "wrong");
  what = pull_error(s);
  EXPECT_NE(what.find("authentication failed: registry answered 401 Unauthorized"), std::string::npos) << what;
  EXPECT_FALSE(s.find(name()));
}

TEST_F(RegistryReplay, BasicAuthFromDockerConfig) {
  const FakeModel model = FakeModel::make(5000, 12);
  std::atomic<int> refused{0};
  serve(model, [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") == store::basic_authorization({"me", "s3cret"})) return true;
    refused++;
    res.status = 401;
    res.set_header("WWW-Authenticate", R"(Basic realm="replay")");
    return false;
  });
  login(replay_.host(), "me", "s3cret");
  Store s(scratch_dir("ebb-pull-dst"));
  store::pull_model(s, name(), options_, nullptr);
  ASSERT_TRUE(s.find(name()));
  EXPECT_EQ(file_bytes(*s.blob_path(model.model_digest)), model.blobs.at(model.model_digest));
  EXPECT_EQ(refused, 1);  // the first request; the login is kept after it
}

TEST_F(RegistryReplay, BearerTokenFlow) {
  const FakeModel model = FakeModel::make(5000, 13);
  std::atomic<int> token_requests{0};
  std::string token_query;
  replay_.server.Get("/token", [&](const httplib::Request& req, httplib::Response& res) {
    token_requests++;
    token_query = req.get_param_value("service") + "|" + req.get_param_value("scope");
    if (req.get_header_value("Authorization") != store::basic_authorization({"me", "pw"})) {
      res.status = 401;
      return;
    }
    res.set_content(R"({"access_token":"tok-1"})", "application/json");
  });
  serve(model, [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") == "Bearer tok-1") return true;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer realm=\"http://" + replay_.host() +
                                           "/token\",service=\"replay\",scope=\"repository:me/m:pull\"");
    return false;
  });
  login(replay_.host(), "me", "pw");
  Store s(scratch_dir("ebb-pull-dst"));
  store::pull_model(s, name(), options_, nullptr);
  ASSERT_TRUE(s.find(name()));
  EXPECT_EQ(token_requests, 1);
  EXPECT_EQ(token_query, "replay|repository:me/m:pull");
  // Wrong credentials: the token server refuses, and the error says so.
  login(replay_.host(), "me", "nope");
  Store other(scratch_dir("ebb-pull-dst"));
  const std::string what = pull_error(other);
  EXPECT_NE(what.find("authentication failed: token server " + replay_.host() + " answered 401"), std::string::npos)
      << what;
  EXPECT_FALSE(other.find(name()));
}

TEST_F(RegistryReplay, TwoPullsShareOneDownload) {
  const FakeModel model = FakeModel::make(2 << 20, 14);
  const std::string& blob = model.blobs.at(model.model_digest);
  std::mutex m;
  std::condition_variable cv;
  bool seen[2] = {false, false};
  std::atomic<int> model_gets{0};
  // The first GET of the model blob sends half, then waits until both pulls have reported
  // progress on it, so the second pull is certain to find the download under way.
  blob_hook_ = [&](const httplib::Request& req, httplib::Response& res, const std::string& bytes) {
    if (req.matches[1] != model.model_digest || model_gets++ > 0) return false;
    res.set_content_provider(bytes.size(), "application/octet-stream",
                             [&, half = bytes.size() / 2](size_t offset, size_t, httplib::DataSink& sink) {
                               if (offset == 0) {
                                 sink.write(blob.data(), half);
                                 std::unique_lock lock(m);
                                 cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen[0] && seen[1]; });
                                 return true;
                               }
                               sink.write(blob.data() + offset, blob.size() - offset);
                               return true;
                             });
    return true;
  };
  serve(model);
  Store s(scratch_dir("ebb-pull-dst"));
  std::vector<json> events[2];
  std::string errors[2];
  auto pull = [&](int i) {
    try {
      store::pull_model(s, name(), options_, [&, i](const json& e) {
        events[i].push_back(e);
        if (e.value("digest", "") == model.model_digest && e["completed"].get<size_t>() < blob.size()) {
          std::lock_guard lock(m);
          seen[i] = true;
          cv.notify_all();
        }
      });
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  };
  std::thread a(pull, 0), b(pull, 1);
  a.join();
  b.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_TRUE(seen[0] && seen[1]) << "both pulls report the shared download's progress";
  EXPECT_EQ(model_gets, 1) << "the model blob was downloaded more than once";
  EXPECT_EQ(file_bytes(*s.blob_path(model.model_digest)), blob);
  for (const auto& ev : events) {
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev.back()["status"], "success");
  }
}

TEST_F(RegistryReplay, BigBlobsComeInParallelParts) {
  const FakeModel model = FakeModel::make((1 << 20) + 7, 15);
  const size_t size = model.blobs.at(model.model_digest).size();
  serve(model);
  options_.parallel_threshold = 64 << 10;
  options_.part_size = 256 << 10;
  options_.connections = 3;
  Store s(scratch_dir("ebb-pull-dst"));
  // A kept partial file: the parts cover only the rest.
  const size_t kept = 300 << 10;
  fs::create_directories(s.blobs_dir());
  std::ofstream(s.blobs_dir() / ("sha256-" + model.model_digest.substr(7) + "-partial"), std::ios::binary)
      << model.blobs.at(model.model_digest).substr(0, kept);
  store::pull_model(s, name(), options_, nullptr);
  ASSERT_TRUE(s.find(name()));
  EXPECT_EQ(file_bytes(*s.blob_path(model.model_digest)), model.blobs.at(model.model_digest));
  size_t parts = 0;
  {
    std::lock_guard lock(mu_);
    for (const auto& r : ranges_) parts += !r.empty();
  }
  EXPECT_EQ(parts, (size - kept + options_.part_size - 1) / options_.part_size);
  EXPECT_EQ(requested(size), size - kept);
}

TEST_F(RegistryReplay, ConnectionCutMidBlobResumesWithRange) {
  const FakeModel model = FakeModel::make(1 << 20, 16);
  const std::string& blob = model.blobs.at(model.model_digest);
  std::atomic<int> model_gets{0};
  blob_hook_ = [&](const httplib::Request& req, httplib::Response& res, const std::string& bytes) {
    if (req.matches[1] != model.model_digest || model_gets++ > 0) return false;
    res.set_content_provider(bytes.size(), "application/octet-stream",
                             [&](size_t offset, size_t, httplib::DataSink& sink) {
                               if (offset > 0) return false;  // cut the connection after half
                               sink.write(blob.data(), blob.size() / 2);
                               return true;
                             });
    return true;
  };
  serve(model);
  Store s(scratch_dir("ebb-pull-dst"));
  const std::string what = pull_error(s);
  EXPECT_NE(what.find("pull " + name().full() + ": connection to " + replay_.host() + " failed: the connection broke"),
            std::string::npos)
      << what;
  EXPECT_FALSE(s.find(name()));
  const fs::path partial = s.blobs_dir() / ("sha256-" + model.model_digest.substr(7) + "-partial");
  ASSERT_TRUE(fs::exists(partial));
  const size_t kept = fs::file_size(partial);
  EXPECT_EQ(kept, blob.size() / 2);

  {
    std::lock_guard lock(mu_);
    ranges_.clear();
  }
  store::pull_model(s, name(), options_, nullptr);
  ASSERT_TRUE(s.find(name()));
  EXPECT_EQ(file_bytes(*s.blob_path(model.model_digest)), blob);
  std::lock_guard lock(mu_);
  EXPECT_NE(std::find(ranges_.begin(), ranges_.end(), "bytes=" + std::to_string(kept) + "-"), ranges_.end());
}

// A model whose manifest gives the model layer `size` instead of its real one.
FakeModel with_model_size(FakeModel m, int64_t size) {
  auto j = json::parse(m.manifest);
  for (auto& l : j["layers"])
    if (l["digest"] == m.model_digest) l["size"] = size;
  m.manifest = j.dump();
  return m;
}

TEST_F(RegistryReplay, BadManifestsAreClearErrors) {
  std::string body = "{not json";
  serve(FakeModel::make(1000, 17), [&](const httplib::Request& req, httplib::Response& res) {
    if (req.path.find("/manifests/") == std::string::npos) return true;
    res.set_content(body, std::string(store::media::kManifest));
    return false;
  });
  Store s(scratch_dir("ebb-pull-dst"));
  std::string what = pull_error(s);
  EXPECT_NE(what.find("the registry sent an unusable manifest: invalid manifest: not JSON"), std::string::npos) << what;
  body = R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:../../etc","size":1},"layers":[]})";
  what = pull_error(s);
  EXPECT_NE(what.find("unusable manifest"), std::string::npos) << what;
  body = std::string(64 << 10, ' ') + "{}";
  options_.max_manifest_bytes = 32 << 10;
  what = pull_error(s);
  EXPECT_NE(what.find("manifest is larger than 32768 bytes"), std::string::npos) << what;
  EXPECT_FALSE(s.find(name()));
}

TEST_F(RegistryReplay, BlobOfTheWrongSizeIsAnError) {
  const FakeModel real = FakeModel::make(100000, 18);
  const size_t size = real.blobs.at(real.model_digest).size();
  FakeModel claimed = with_model_size(real, static_cast<int64_t>(size) - 10);
  serve(claimed);
  Store s(scratch_dir("ebb-pull-dst"));
  std::string what = pull_error(s);
  EXPECT_NE(what.find("registry sent more than the " + std::to_string(size - 10) + " bytes"), std::string::npos)
      << what;
  EXPECT_FALSE(s.find(name()));
  EXPECT_FALSE(fs::exists(s.blobs_dir() / ("sha256-" + real.model_digest.substr(7) + "-partial")));

  model_ = with_model_size(real, static_cast<int64_t>(size) + 10);
  what = pull_error(s);
  EXPECT_NE(what.find("registry sent " + std::to_string(size) + " of the " + std::to_string(size + 10) + " bytes"),
            std::string::npos)
      << what;
  EXPECT_FALSE(s.find(name()));
}

TEST_F(RegistryReplay, CancelStopsThePullWithoutAManifest) {
  const FakeModel model = FakeModel::make(1 << 20, 19);
  serve(model);
  Store s(scratch_dir("ebb-pull-dst"));
  bool started = false;
  try {
    store::pull_model(
        s, name(), options_,
        [&](const json& e) {
          if (e.contains("digest")) started = true;
        },
        [&] { return started; });
    FAIL() << "not cancelled";
  } catch (const store::RegistryCancelled& e) {
    EXPECT_NE(std::string(e.what()).find("cancelled"), std::string::npos);
  }
  EXPECT_FALSE(s.find(name()));
}

TEST_F(RegistryReplay, FailedPartKeepsTheBytesBeforeItForAResume) {
  const FakeModel model = FakeModel::make((1 << 20) + 3, 20);
  const std::string& blob = model.blobs.at(model.model_digest);
  const size_t part = 256 << 10;
  std::atomic<bool> fail_third{true};
  blob_hook_ = [&](const httplib::Request& req, httplib::Response& res, const std::string&) {
    if (!fail_third ||
        req.get_header_value("Range") != "bytes=" + std::to_string(2 * part) + "-" + std::to_string(3 * part - 1))
      return false;
    res.status = 500;
    return true;
  };
  serve(model);
  options_.parallel_threshold = 64 << 10;
  options_.part_size = part;
  options_.connections = 1;  // parts in order: the first two finish before the third fails
  Store s(scratch_dir("ebb-pull-dst"));
  const std::string what = pull_error(s);
  EXPECT_NE(what.find("registry answered 500 Internal Server Error"), std::string::npos) << what;
  EXPECT_FALSE(s.find(name()));
  const fs::path partial = s.blobs_dir() / ("sha256-" + model.model_digest.substr(7) + "-partial");
  ASSERT_TRUE(fs::exists(partial));
  EXPECT_EQ(fs::file_size(partial), 2 * part);

  fail_third = false;
  {
    std::lock_guard lock(mu_);
    ranges_.clear();
  }
  store::pull_model(s, name(), options_, nullptr);
  ASSERT_TRUE(s.find(name()));
  EXPECT_EQ(file_bytes(*s.blob_path(model.model_digest)), blob);
  EXPECT_EQ(requested(blob.size()), blob.size() - 2 * part);
}

}  // namespace
}  // namespace ebb::test
