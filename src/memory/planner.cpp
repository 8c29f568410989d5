#include "memory/planner.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace ebb::memory {

namespace {

// Footprints within a MiB of each other are the same size: measured parts (a dry run's resident
// heap, a runner's pages) differ by a few pages between loads of like models, and that noise must
// not override recency when choosing the smallest model to demote.
constexpr uint64_t kSameSize = uint64_t{1} << 20;

// The models on the ledger's device, sorted into what the planner may and may not touch.
struct Survey {
  uint64_t pending = 0;  // accounted bytes that runners are giving back already
  std::vector<Holder> draining;
  std::vector<const ModelState*> idle;  // ready or warm, evictable; least recently used first
  std::vector<Holder> pinned;
  std::vector<Holder> busy;
  uint64_t busy_total = 0;
  bool self_draining = false;
};

// Bytes a model keeps on the device until someone evicts it: its tier's bytes, capped by what
// the ledger holds for it.
uint64_t kept_bytes(const ModelState& m, const Ledger& ledger) {
  return std::min(ledger.accounted(m.name), m.device_bytes());
}

uint64_t kv_bytes(const ModelState& m, const Ledger& ledger) {
  if (m.tier != Tier::Ready) return 0;
  uint64_t kept = kept_bytes(m, ledger);
  uint64_t weights = m.footprint.without_kv();
  return kept > weights ? kept - weights : 0;
}

bool less_recently_used(const ModelState* a, const ModelState* b) {
  return std::tie(a->last_used, a->name) < std::tie(b->last_used, b->name);
}

Survey survey(const LoadRequest& request, const Models& models, const Ledger& ledger) {
  Survey s;
  for (const auto& [name, m] : models) {
    uint64_t accounted = ledger.accounted(name);
    uint64_t kept = kept_bytes(m, ledger);
    if (accounted > kept) {
      s.pending += accounted - kept;
      s.draining.push_back({name, accounted - kept});
      if (name == request.model) s.self_draining = true;
    }
    if (kept == 0 || name == request.model) continue;
    if (m.is_protected()) {
      s.pinned.push_back({name, kept});
    } else if (m.busy > 0 || m.tier == Tier::Loading) {
      s.busy.push_back({name, kept});
      // Only a model that runs (or loads) will finish. A busy warm model's requests are
      // themselves waiting for room: waiting on them could deadlock.
      if (m.tier != Tier::Warm) s.busy_total += kept;
    } else {
      s.idle.push_back(&m);
    }
  }
  std::stable_sort(s.idle.begin(), s.idle.end(), less_recently_used);
  return s;
}

std::string list_text(const std::vector<Holder>& holders) {
  std::string text;
  for (const auto& h : holders) {
    if (!text.empty()) text += ", ";
    text += h.model + " (" + bytes_text(h.bytes) + ")";
  }
  return text;
}

std::string shortage_text(const LoadRequest& request, const Ledger& ledger) {
  std::string text = "model '" + request.model + "' needs " + bytes_text(request.bytes) + " but only " +
                     bytes_text(ledger.free()) + " of the " + bytes_text(ledger.budget()) + " budget is free";
  if (request.bytes > ledger.budget()) text += " (it is larger than the whole budget)";
  return text;
}

Wait make_wait(const LoadRequest& request, const Ledger& ledger, const Survey& s) {
  Wait w{request.bytes, ledger.free(), s.busy, s.draining, shortage_text(request, ledger)};
  if (!s.busy.empty()) w.message += "; waiting for busy: " + list_text(s.busy);
  if (!s.draining.empty()) w.message += "; being released: " + list_text(s.draining);
  return w;
}

Refuse make_refuse(const LoadRequest& request, const Ledger& ledger, const Survey& s, std::string_view why) {
  Refuse r{request.bytes, ledger.free(), ledger.budget(), s.pinned, s.busy, shortage_text(request, ledger)};
  if (!s.pinned.empty()) r.message += "; pinned: " + list_text(s.pinned);
  if (!s.busy.empty()) r.message += "; busy: " + list_text(s.busy);
  if (!why.empty()) r.message += "; " + std::string(why);
  return r;
}

}  // namespace

const char* to_string(Step::Kind kind) { return kind == Step::Kind::ReleaseKv ? "release_kv" : "demote_to_host"; }

Plan plan_load(const LoadRequest& request, const Models& models, const Ledger& ledger) {
  Survey s = survey(request, models, ledger);
  // The model's own runner is still exiting: the machine cannot start the load yet.
  if (s.self_draining) return make_wait(request, ledger, s);
  if (request.bytes <= ledger.free()) return Fits{};

  // 0. Bytes already on their way back.
  uint64_t deficit = request.bytes - ledger.free();
  if (s.pending >= deficit) return make_wait(request, ledger, s);
  deficit -= s.pending;

  // 1. KV of idle ready models, least recently used first.
  std::vector<Step> steps;
  for (const ModelState* m : s.idle) {
    if (deficit == 0) break;
    uint64_t kv = kv_bytes(*m, ledger);
    if (kv == 0) continue;
    steps.push_back({Step::Kind::ReleaseKv, m->name, kv});
    deficit -= std::min(kv, deficit);
  }
  if (deficit == 0) return Evict{std::move(steps)};

  // 2. Weights of idle models. Every idle KV is released by now, so each one frees the rest.
  auto weights_left = [&](const ModelState* m) { return kept_bytes(*m, ledger) - kv_bytes(*m, ledger); };
  std::vector<const ModelState*> demote;
  const ModelState* smallest = nullptr;
  for (const ModelState* m : s.idle) {  // least recently used first, so ties keep the first
    uint64_t left = weights_left(m);
    if (left >= deficit && (!smallest || left + kSameSize < weights_left(smallest))) smallest = m;
  }
  if (smallest) {
    demote.push_back(smallest);
    deficit = 0;
  } else {
    for (const ModelState* m : s.idle) {
      if (deficit == 0) break;
      uint64_t left = weights_left(m);
      if (left == 0) continue;
      demote.push_back(m);
      deficit -= std::min(left, deficit);
    }
  }
  if (deficit == 0) {
    // Demoting a model releases its KV too: fold its ReleaseKv step into the demotion.
    std::erase_if(steps, [&](const Step& step) {
      return std::any_of(demote.begin(), demote.end(), [&](const ModelState* m) { return m->name == step.model; });
    });
    uint64_t freed = ledger.free() + s.pending;
    for (const ModelState* m : demote) {
      steps.push_back({Step::Kind::DemoteToHost, m->name, kept_bytes(*m, ledger)});
      freed += steps.back().frees;
    }
    for (const Step& step : steps)
      if (step.kind == Step::Kind::ReleaseKv) freed += step.frees;
    // Keep the KV of the most recently used models that the demotions made unnecessary.
    uint64_t surplus = freed - request.bytes;
    for (size_t i = steps.size(); i-- > 0;) {
      if (steps[i].kind != Step::Kind::ReleaseKv || steps[i].frees > surplus) continue;
      surplus -= steps[i].frees;
      steps.erase(steps.begin() + static_cast<std::ptrdiff_t>(i));
    }
    return Evict{std::move(steps)};
  }

  // 3. Busy models hold the rest: wait for them. 4. Otherwise refuse.
  if (s.busy_total >= deficit) return make_wait(request, ledger, s);
  return make_refuse(request, ledger, s, {});
}

Refuse refuse(const LoadRequest& request, const Models& models, const Ledger& ledger, std::string_view why) {
  return make_refuse(request, ledger, survey(request, models, ledger), why);
}

const char* to_string(Reuse reuse) {
  switch (reuse) {
    case Reuse::Serve: return "serve";
    case Reuse::Join: return "join";
    case Reuse::Wake: return "wake";
    case Reuse::Load: return "load";
    case Reuse::Reload: return "reload";
  }
  return "unknown";
}

Reuse plan_reuse(const ModelState& model, uint32_t num_ctx) {
  bool large_enough = model.footprint.n_ctx >= num_ctx;
  switch (model.tier) {
    case Tier::Ready: return large_enough ? Reuse::Serve : Reuse::Reload;
    case Tier::Loading: return large_enough ? Reuse::Join : Reuse::Reload;
    case Tier::Warm: return Reuse::Wake;
    case Tier::Cold:
    case Tier::Host: return Reuse::Load;
  }
  return Reuse::Load;
}

std::optional<std::string> check_resident_set(uint64_t budget, const std::vector<Holder>& residents) {
  uint64_t sum = 0;
  bool overflow = false;
  for (const auto& r : residents) {
    if (r.bytes > std::numeric_limits<uint64_t>::max() - sum)
      overflow = true;
    else
      sum += r.bytes;
  }
  if (!overflow && sum <= budget) return std::nullopt;
  std::string text = "resident models need " + bytes_text(sum) + " (" + std::to_string(sum) +
                     " bytes) but the device budget is " + bytes_text(budget) + " (" + std::to_string(budget) +
                     " bytes): ";
  if (overflow) text = "resident models need more bytes than can be counted: ";
  for (size_t i = 0; i < residents.size(); ++i) {
    if (i) text += ", ";
    text += residents[i].model + " " + bytes_text(residents[i].bytes);
  }
  return text;
}

HostPlan plan_host(uint64_t host_budget, const Models& models, std::string_view model, uint64_t bytes,
                   bool device_is_host_ram) {
  HostPlan plan;
  plan.needed = bytes;
  uint64_t used = 0;
  std::vector<const ModelState*> candidates;
  for (const auto& [name, m] : models) {
    if (name == model) continue;
    uint64_t counted = m.host_counted_bytes(device_is_host_ram);
    used += counted;
    if (counted > 0 && m.tier == Tier::Host && m.busy == 0 && !m.is_protected()) candidates.push_back(&m);
  }
  plan.available = used >= host_budget ? 0 : host_budget - used;
  if (bytes <= plan.available) {
    plan.fits = true;
    return plan;
  }
  std::stable_sort(candidates.begin(), candidates.end(), less_recently_used);
  uint64_t deficit = bytes - plan.available;
  for (const ModelState* m : candidates) {
    if (deficit == 0) break;
    plan.to_cold.push_back(m->name);
    deficit -= std::min(m->host_bytes, deficit);
  }
  if (deficit == 0) {
    plan.fits = true;
    return plan;
  }
  plan.to_cold.clear();
  plan.message = "model '" + std::string(model) + "' needs " + bytes_text(bytes) + " of host memory but only " +
                 bytes_text(plan.available) + " of the " + bytes_text(host_budget) +
                 " host budget is free, and idle host-tier models hold "
                 "too little to make room";
  return plan;
}

}  // namespace ebb::memory
