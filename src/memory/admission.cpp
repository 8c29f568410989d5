#include "memory/admission.h"

#include <algorithm>

namespace ebb::memory {

uint32_t load_context(const ModelState& model, uint32_t num_ctx) {
  return model.tier == Tier::Warm ? std::max(num_ctx, model.footprint.n_ctx) : num_ctx;
}

Admission next_admission(const AdmissionQuery& q, const Models& models, const Ledger& ledger) {
  const ModelState& m = q.model;
  switch (plan_reuse(m, q.num_ctx)) {
    case Reuse::Serve: return AdmitServe{};
    case Reuse::Join: return AdmitJoin{};
    case Reuse::Reload:
      // A load in progress or requests on the small instance: it cannot be stopped under them.
      if (m.tier == Tier::Loading || q.others_in_flight) return AdmitAwaitIdle{};
      return AdmitReload{};
    case Reuse::Wake:
    case Reuse::Load: break;
  }
  const bool warm = m.tier == Tier::Warm;
  if (!q.footprint) return AdmitMeasure{load_context(m, q.num_ctx), warm};
  const uint64_t total = q.footprint->total();
  const uint64_t bytes = total - std::min(ledger.held(m.name), total);
  Plan plan = plan_load({m.name, bytes}, models, ledger);
  return std::visit(
      [&](auto&& p) -> Admission {
        if constexpr (std::is_same_v<std::decay_t<decltype(p)>, Fits>)
          return AdmitStart{bytes, warm};
        else
          return std::move(p);
      },
      std::move(plan));
}

const char* to_string(const Admission& step) {
  static constexpr const char* kNames[] = {"serve", "join",  "await_idle", "reload", "measure",
                                           "start", "evict", "wait",       "refuse"};
  static_assert(std::variant_size_v<Admission> == std::size(kNames));
  return kNames[step.index()];
}

}  // namespace ebb::memory
