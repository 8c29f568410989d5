#pragma once
// The streamed body of one generation: the runner's events, written to the client in a
// ResponseShape. Once the first event is out, the runner's reader thread writes each token itself
// while the client's socket takes it without blocking (RequestStream's token writer); the HTTP
// thread wakes only for the end, or for tokens that had to wait.
#include <chrono>
#include <memory>
#include <optional>

#include <httplib.h>

#include "api/client_watch.h"
#include "api/response_shape.h"
#include "api/runner_call.h"
#include "supervisor/request_stream.h"

namespace ebb::api {

class TokenStream {
 public:
  // `held`: the event the caller already took off the stream (it goes out first). `client`: the
  // request's socket; without one being watched, every token goes out on the HTTP thread.
  TokenStream(RunnerCall call, std::optional<supervisor::StreamEvent> held, std::optional<ClientWatch> client,
              std::shared_ptr<const ResponseShape> shape, std::chrono::steady_clock::time_point t0);
  TokenStream(const TokenStream&) = delete;
  TokenStream& operator=(const TokenStream&) = delete;

  // Writes the response to `sink` until its last line (then calls sink.done() and returns true),
  // or until the client is gone or a write fails (false). The token writer it installs refers to
  // `sink` and is removed before this returns.
  bool write_to(httplib::DataSink& sink);

  // The response is over or abandoned: a request that did not finish is cancelled in the runner,
  // so its slot frees at once. Releases the model's lease.
  void close();

  bool finished() const { return finished_; }

 private:
  bool write_token_now(httplib::DataSink& sink, const std::string& text) const;
  std::string line_of(const supervisor::StreamEvent& ev);

  RunnerCall call_;
  std::optional<supervisor::StreamEvent> held_;
  std::optional<ClientWatch> client_;
  std::shared_ptr<const ResponseShape> shape_;
  std::chrono::steady_clock::time_point t0_;
  int64_t load_ns_ = 0;
  bool finished_ = false;
  bool opened_ = false;  // the shape's opening is out
};

}  // namespace ebb::api
