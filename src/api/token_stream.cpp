#include "api/token_stream.h"

#include <utility>

#include "common/scope_exit.h"

namespace ebb::api {

using supervisor::StreamEvent;

namespace {
// How often an idle stream looks whether the client is still there.
constexpr auto kPoll = std::chrono::milliseconds(200);
}  // namespace

TokenStream::TokenStream(RunnerCall call, std::optional<StreamEvent> held, std::optional<ClientWatch> client,
                         std::shared_ptr<const ResponseShape> shape, std::chrono::steady_clock::time_point t0)
    : call_(std::move(call)),
      held_(std::move(held)),
      client_(std::move(client)),
      shape_(std::move(shape)),
      t0_(t0),
      load_ns_(call_.lease ? call_.lease->load_ns() : 0) {}

bool TokenStream::write_to(httplib::DataSink& sink) {
  supervisor::RequestStream& stream = *call_.stream;
  const bool direct = client_ && client_->watching();
  bool writer_set = false;
  // The writer refers to `sink`, which lives only as long as this call.
  ScopeExit remove_writer([&stream] { stream.set_token_writer(nullptr); });
  if (!opened_) {
    opened_ = true;
    const std::string opening = shape_->opening();
    if (!opening.empty() && !sink.write(opening.data(), opening.size())) return false;
  }
  for (;;) {
    std::optional<StreamEvent> ev = std::exchange(held_, std::nullopt);
    if (!ev) {
      if (direct && !writer_set) {
        writer_set = true;
        stream.set_token_writer([this, &sink](const std::string& text) { return write_token_now(sink, text); });
      } else if (writer_set) {
        stream.written();
      }
      ev = stream.pop(kPoll);
    }
    if (!ev) {
      if (direct ? client_->gone() : !sink.is_writable()) return false;
      continue;
    }
    if (ev->kind == StreamEvent::Kind::Token && ev->text.empty() && ev->plain_text()) continue;  // "accepted"
    const std::string line = line_of(*ev);
    // The runner is done with the request: the model is free again before the client can read
    // the last line, so its next admin call (release-kv, unload) never finds it still busy.
    if (finished_) call_.lease.reset();
    if (!sink.write(line.data(), line.size())) return false;
    if (finished_) {
      sink.done();
      return true;
    }
  }
}

void TokenStream::close() {
  if (!finished_ && call_.lease) call_.lease->runner().cancel(call_.stream->id());
  call_.lease.reset();
}

// On the runner's reader thread: false leaves the token queued for the HTTP thread.
bool TokenStream::write_token_now(httplib::DataSink& sink, const std::string& text) const {
  if (text.empty()) return true;  // "accepted"
  if (!client_->writable_now()) return false;
  const std::string line = shape_->chunk(MessageDelta::text(text));
  return sink.write(line.data(), line.size());
}

std::string TokenStream::line_of(const StreamEvent& ev) {
  switch (ev.kind) {
    case StreamEvent::Kind::Token: return shape_->chunk(delta_of(ev));
    case StreamEvent::Kind::Error: finished_ = true; return shape_->error(ev.text);
    case StreamEvent::Kind::Done: break;
  }
  finished_ = true;
  const auto total = std::chrono::steady_clock::now() - t0_;
  return shape_->final(ev.stats, {std::chrono::duration_cast<std::chrono::nanoseconds>(total).count(), load_ns_});
}

}  // namespace ebb::api
