#pragma once
// What a runner serves with once a model is loaded: the engine, its decode batch, the slots
// (one per sequence) and where replies go. The scheduler, the generation step and the embed
// step all work on it.
#include <memory>
#include <vector>

#include "engine/batcher.h"
#include "engine/engine.h"
#include "runner/outbox.h"
#include "runner/slot.h"

namespace ebb::runner {

struct Serving {
  // prompt_cache: load's "prompt_cache" (save slots before overwriting them).
  Serving(std::unique_ptr<engine::Engine> loaded, Outbox& outbox, bool prompt_cache_on)
      : engine_ptr(std::move(loaded)),
        engine(*engine_ptr),
        batcher(engine, engine.params().num_batch),
        out(outbox),
        prompt_cache(prompt_cache_on) {
    slots.reserve(engine.params().num_parallel);
    for (uint32_t i = 0; i < engine.params().num_parallel; ++i) slots.emplace_back(static_cast<int>(i));
  }
  Serving(const Serving&) = delete;
  Serving& operator=(const Serving&) = delete;

  bool busy() const {
    for (const auto& s : slots)
      if (s.active) return true;
    return false;
  }

  std::unique_ptr<engine::Engine> engine_ptr;
  engine::Engine& engine;
  engine::Batcher batcher;
  std::vector<Slot> slots;
  Outbox& out;
  bool prompt_cache;
};

}  // namespace ebb::runner
