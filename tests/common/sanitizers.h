#pragma once
// Whether this build runs under AddressSanitizer and UBSan (cmake -DEBB_SANITIZE=ON defines
// EBB_SANITIZERS). ASan's shadow memory and its quarantine of freed blocks change a process's
// RSS, so tests that assert RSS figures skip in such a build.
#include <gtest/gtest.h>

namespace ebb::test {

#ifdef EBB_SANITIZERS
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace ebb::test

// In a test body: skips the test in a sanitizer build, saying why.
#define EBB_SKIP_RSS_CHECKS_UNDER_SANITIZERS()                                                              \
  do {                                                                                                      \
    if (::ebb::test::kSanitized) GTEST_SKIP() << "asserts RSS figures, which ASan's shadow memory changes"; \
  } while (0)
