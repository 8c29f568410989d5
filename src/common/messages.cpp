#include "common/messages.h"

#include <array>
#include <utility>

namespace ebb::protocol {
namespace {

constexpr std::array<std::pair<Msg, std::string_view>, static_cast<size_t>(Msg::Unknown)> kNames{{
    {Msg::Load, "load"},
    {Msg::Generate, "generate"},
    {Msg::Embed, "embed"},
    {Msg::Cancel, "cancel"},
    {Msg::Restore, "restore"},
    {Msg::ReleaseKv, "release_kv"},
    {Msg::CreateContext, "create_context"},
    {Msg::Calibrate, "calibrate"},
    {Msg::InitGpu, "init_gpu"},
    {Msg::Shutdown, "shutdown"},
    {Msg::Hello, "hello"},
    {Msg::Ready, "ready"},
    {Msg::LoadError, "load_error"},
    {Msg::Accepted, "accepted"},
    {Msg::Token, "token"},
    {Msg::Done, "done"},
    {Msg::Embeddings, "embeddings"},
    {Msg::Error, "error"},
    {Msg::WantSnapshot, "want_snapshot"},
    {Msg::Snapshot, "snapshot"},
    {Msg::KvReleased, "kv_released"},
    {Msg::Calibrated, "calibrated"},
    {Msg::GpuReady, "gpu_ready"},
    {Msg::Progress, "progress"},
    {Msg::Stats, "stats"},
}};

// The table lists every type once, in the enum's order.
constexpr bool table_in_order() {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (static_cast<size_t>(kNames[i].first) != i) return false;
  return true;
}
static_assert(table_in_order());

}  // namespace

std::string_view name(Msg m) {
  const auto i = static_cast<size_t>(m);
  return i < kNames.size() ? kNames[i].second : std::string_view{};
}

Msg parse_msg(std::string_view type) {
  for (const auto& [m, n] : kNames)
    if (n == type) return m;
  return Msg::Unknown;
}

}  // namespace ebb::protocol
