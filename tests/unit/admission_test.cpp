// Admission: the one decision of "what next for this request", table by table.
#include "memory/admission.h"

#include <gtest/gtest.h>

#include "memory_test_helpers.h"

namespace ebb::memory {
namespace {

using namespace memtest;

struct Case {
  const char* what;
  Tier tier;
  uint32_t have_ctx;  // the model's current (or last) context
  uint32_t want_ctx;
  bool others_in_flight;
  const char* expected;  // to_string of the step
};

class AdmissionTest : public ::testing::Test {
 protected:
  Models models;
  Ledger ledger{16 * GiB};

  Admission ask(const std::string& name, uint32_t want, bool others = false, const Footprint* measured = nullptr) {
    return next_admission({models.at(name), want, others, measured}, models, ledger);
  }
};

TEST_F(AdmissionTest, ReuseDecisionsWithoutAFootprint) {
  const Case cases[] = {
      {"ready and large enough", Tier::Ready, 4096, 4096, false, "serve"},
      {"ready, larger than asked", Tier::Ready, 8192, 2048, true, "serve"},
      {"loading large enough", Tier::Loading, 4096, 4096, true, "join"},
      {"ready but too small, idle", Tier::Ready, 2048, 4096, false, "reload"},
      {"ready but too small, others on it", Tier::Ready, 2048, 4096, true, "await_idle"},
      {"loading too small", Tier::Loading, 2048, 4096, false, "await_idle"},
      {"warm: wake", Tier::Warm, 4096, 4096, false, "measure"},
      {"host: load", Tier::Host, 4096, 4096, false, "measure"},
      {"cold: load", Tier::Cold, 0, 4096, false, "measure"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    models.clear();
    ledger = Ledger(16 * GiB);
    place(models, ledger, "m", c.tier, fp(1 * GiB, 256 * MiB, 0, 0, c.have_ctx), t0);
    EXPECT_STREQ(to_string(ask("m", c.want_ctx, c.others_in_flight)), c.expected);
  }
}

TEST_F(AdmissionTest, MeasureAsksForTheContextTheLoadCreates) {
  place(models, ledger, "warm", Tier::Warm, fp(1 * GiB, 256 * MiB, 0, 0, 8192), t0);
  place(models, ledger, "cold", Tier::Cold, fp(1 * GiB, 256 * MiB, 0, 0, 8192), t0);
  // A warm model keeps at least the context it had; a cold one gets what is asked.
  auto warm = std::get<AdmitMeasure>(ask("warm", 2048));
  EXPECT_EQ(warm.num_ctx, 8192u);
  EXPECT_TRUE(warm.warm);
  EXPECT_EQ(std::get<AdmitMeasure>(ask("warm", 16384)).num_ctx, 16384u);
  auto cold = std::get<AdmitMeasure>(ask("cold", 2048));
  EXPECT_EQ(cold.num_ctx, 2048u);
  EXPECT_FALSE(cold.warm);
}

TEST_F(AdmissionTest, StartCountsOnlyWhatTheLoadAdds) {
  place(models, ledger, "m", Tier::Warm, fp(1 * GiB, 256 * MiB), t0);
  Footprint f = fp(1 * GiB, 256 * MiB, 64 * MiB);
  auto start = std::get<AdmitStart>(ask("m", 4096, false, &f));
  EXPECT_EQ(start.bytes, f.total() - 1 * GiB);  // the warm runner holds its weights already
  EXPECT_TRUE(start.warm);

  place(models, ledger, "c", Tier::Cold, {}, t0);
  auto cold = std::get<AdmitStart>(ask("c", 4096, false, &f));
  EXPECT_EQ(cold.bytes, f.total());
  EXPECT_FALSE(cold.warm);
}

TEST_F(AdmissionTest, TheLoadPlanDecidesWhenItDoesNotFit) {
  ledger = Ledger(8 * GiB);
  place(models, ledger, "idle", Tier::Ready, fp(3 * GiB, 2 * GiB), t0);
  place(models, ledger, "m", Tier::Cold, {}, t0 + 1s);
  Footprint f = fp(4 * GiB, 0);
  auto evict = std::get<Evict>(ask("m", 4096, false, &f));
  ASSERT_EQ(evict.steps.size(), 1u);
  EXPECT_EQ(evict.steps[0].model, "idle");

  // The same model busy: the load waits for it.
  models.at("idle").busy = 1;
  EXPECT_TRUE(std::holds_alternative<Wait>(ask("m", 4096, false, &f)));

  // Pinned: nothing can give way.
  models.at("idle").busy = 0;
  models.at("idle").pinned = true;
  auto refuse = std::get<Refuse>(ask("m", 4096, false, &f));
  EXPECT_NE(refuse.message.find("pinned: idle"), std::string::npos) << refuse.message;
}

TEST_F(AdmissionTest, ServingNeedsNoFootprintAndIgnoresOne) {
  place(models, ledger, "m", Tier::Ready, fp(1 * GiB, 256 * MiB), t0);
  Footprint huge = fp(100 * GiB, 0);
  EXPECT_TRUE(std::holds_alternative<AdmitServe>(ask("m", 4096, false, &huge)));
}

}  // namespace
}  // namespace ebb::memory
