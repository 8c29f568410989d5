#include "fake_runner.h"

namespace ebb::supervisor::testing {

void FakeRunner::attach(ExitCallback on_exit, SnapshotHooks hooks) {
  std::lock_guard lk(world_.mu_);
  on_exit_ = std::move(on_exit);
  hooks_ = std::move(hooks);
}

void FakeRunner::log(const std::string& what) {
  world_.log_.push_back(what + " " + path_);
  world_.cv_.notify_all();
}

ReadyReport FakeRunner::load(const LoadRequest& request, Timeout timeout) {
  std::unique_lock lk(world_.mu_);
  path_ = request.path;
  ++world_.loads_;
  log("load");
  if (!world_.cv_.wait_for(lk, timeout, [&] { return !world_.hold_ || !alive_; })) throw RunnerError("load timed out");
  if (!alive_) throw RunnerError(exit_reason_);
  if (!world_.failures_.empty()) {
    std::string why = world_.failures_.front();
    world_.failures_.pop_front();
    throw RunnerError(why);
  }
  return ReadyReport{request.num_ctx, request.num_parallel};
}

ReadyReport FakeRunner::create_context(uint32_t num_ctx, Timeout timeout) {
  std::unique_lock lk(world_.mu_);
  log("create_context");
  if (!world_.cv_.wait_for(lk, timeout, [&] { return !world_.hold_ || !alive_; })) throw RunnerError("timed out");
  if (!alive_) throw RunnerError(exit_reason_);
  return ReadyReport{num_ctx, 1};
}

void FakeRunner::release_kv(Timeout) {
  std::lock_guard lk(world_.mu_);
  if (!alive_) throw RunnerError(exit_reason_);
  log("release_kv");
}

std::shared_ptr<RequestStream> FakeRunner::submit(nlohmann::json) {
  std::lock_guard lk(world_.mu_);
  return std::make_shared<RequestStream>(next_id_++);
}

void FakeRunner::stop(Timeout, bool) {
  {
    std::lock_guard lk(world_.mu_);
    if (alive_) log("stop");
  }
  die("stopped");
  std::unique_lock lk(world_.mu_);
  world_.cv_.wait(lk, [&] { return exited_; });
}

void FakeRunner::die(const std::string& why) {
  std::lock_guard lk(world_.mu_);
  if (!alive_) return;
  alive_ = false;
  exit_reason_ = why;
  world_.cv_.notify_all();
  world_.exits_.emplace_back([self = shared_from_this(), on_exit = on_exit_] {
    if (on_exit) on_exit(*self);
    std::lock_guard lk2(self->world_.mu_);
    self->exited_ = true;
    self->log("exited");
    self->world_.cv_.notify_all();
  });
}

bool FakeRunner::alive() const {
  std::lock_guard lk(world_.mu_);
  return alive_;
}

std::string FakeRunner::exit_reason() const {
  std::lock_guard lk(world_.mu_);
  return exit_reason_;
}

std::string FakeRunner::model() const {
  std::lock_guard lk(world_.mu_);
  return path_;
}

FakeRunners::~FakeRunners() {
  // The manager is gone; exit threads may still be finishing their callbacks.
  std::vector<std::thread> exits;
  {
    std::lock_guard lk(mu_);
    exits.swap(exits_);
  }
  for (auto& t : exits) t.join();
}

RunnerFactory FakeRunners::factory() {
  return [this](Runner::ExitCallback on_exit, Runner::SnapshotHooks hooks) -> std::shared_ptr<Runner> {
    auto r = std::make_shared<FakeRunner>(*this, std::move(on_exit), std::move(hooks));
    std::lock_guard lk(mu_);
    if (!spawn_failure_.empty()) throw RunnerError(spawn_failure_);
    runners_.push_back(r);
    return r;
  };
}

void FakeRunners::hold_loads() {
  std::lock_guard lk(mu_);
  hold_ = true;
}

void FakeRunners::release_loads() {
  std::lock_guard lk(mu_);
  hold_ = false;
  cv_.notify_all();
}

void FakeRunners::fail_next_load(const std::string& message) {
  std::lock_guard lk(mu_);
  failures_.push_back(message);
}

void FakeRunners::fail_spawns(const std::string& message) {
  std::lock_guard lk(mu_);
  spawn_failure_ = message;
}

std::vector<std::string> FakeRunners::log() const {
  std::lock_guard lk(mu_);
  return log_;
}

int FakeRunners::loads_started() const {
  std::lock_guard lk(mu_);
  return loads_;
}

std::shared_ptr<FakeRunner> FakeRunners::runner_of(const std::string& model) const {
  std::lock_guard lk(mu_);
  for (const auto& r : runners_)
    if (r->path_ == model && r->alive_) return r;
  return nullptr;
}

}  // namespace ebb::supervisor::testing
