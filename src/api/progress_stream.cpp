#include "api/progress_stream.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "api/http_util.h"

namespace ebb::api {

namespace {

using json = nlohmann::json;

struct Failure {
  int status = 500;
  std::string message;
};

// Runs the job, turning what it throws into a Failure.
std::optional<Failure> run(const ProgressJob& job, const ProgressFn& progress, const CancelledFn& cancelled) {
  try {
    job(progress, cancelled);
    return std::nullopt;
  } catch (const StatusError& e) {
    return Failure{e.status, e.what()};
  } catch (const std::invalid_argument& e) {
    return Failure{400, e.what()};
  } catch (const std::exception& e) {
    return Failure{500, e.what()};
  }
}

// The lines a streaming job has written, for the connection's thread to send.
struct Channel {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> lines;
  bool started = false;  // the first progress line came
  bool finished = false;
  std::optional<Failure> failure;
  std::atomic<bool> cancelled{false};
  std::thread worker;

  void push(const json& j) {
    std::lock_guard lk(mu);
    lines.push_back(j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    started = true;
    cv.notify_all();
  }
};

}  // namespace

void serve_progress(httplib::Response& res, bool stream, ProgressJob job) {
  if (!stream) {
    if (auto f = run(
            job, [](const json&) {}, [] { return false; }))
      return send_error(res, f->status, f->message);
    return send_json(res, 200, {{"status", "success"}});
  }
  auto ch = std::make_shared<Channel>();
  ch->worker = std::thread([ch, job = std::move(job)] {
    auto failure = run(
        job, [&](const json& j) { ch->push(j); }, [&] { return ch->cancelled.load(); });
    std::lock_guard lk(ch->mu);
    ch->failure = std::move(failure);
    ch->finished = true;
    ch->cv.notify_all();
  });
  {
    std::unique_lock lk(ch->mu);
    ch->cv.wait(lk, [&] { return ch->started || ch->finished; });
    if (!ch->started && ch->failure) {
      const Failure f = *ch->failure;
      lk.unlock();
      ch->worker.join();
      return send_error(res, f.status, f.message);
    }
  }
  res.set_chunked_content_provider(
      "application/x-ndjson",
      [ch](size_t, httplib::DataSink& sink) {
        std::unique_lock lk(ch->mu);
        ch->cv.wait(lk, [&] { return !ch->lines.empty() || ch->finished; });
        while (!ch->lines.empty()) {
          std::string line = std::move(ch->lines.front());
          ch->lines.pop_front();
          lk.unlock();
          if (!sink.write(line.data(), line.size())) return false;
          lk.lock();
        }
        if (!ch->finished) return true;
        if (ch->failure) {
          const std::string line = json{{"error", ch->failure->message}}.dump() + "\n";
          sink.write(line.data(), line.size());
        }
        sink.done();
        return true;
      },
      [ch](bool) {
        ch->cancelled = true;  // the client hung up, or everything was sent
        if (ch->worker.joinable()) ch->worker.join();
      });
}

}  // namespace ebb::api
