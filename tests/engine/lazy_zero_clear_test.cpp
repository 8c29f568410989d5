// llama.cpp's buffer clears, as the engine links them (--wrap, engine/lazy_zero_clear.cpp): a
// zero-clear of a CPU buffer reads back as zeros everywhere, head and tail included, without
// faulting the buffer in; other values and small buffers are cleared as before.
#include <cstdint>
#include <cstring>
#include <memory>

#include <gtest/gtest.h>

#include "common/process_memory.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"

namespace {

struct BufferFree {
  void operator()(ggml_backend_buffer_t b) const { ggml_backend_buffer_free(b); }
};
using Buffer = std::unique_ptr<ggml_backend_buffer, BufferFree>;

Buffer cpu_buffer(size_t size) { return Buffer(ggml_backend_buft_alloc_buffer(ggml_backend_cpu_buffer_type(), size)); }

bool all_bytes(const Buffer& b, uint8_t value) {
  const auto* p = static_cast<const uint8_t*>(ggml_backend_buffer_get_base(b.get()));
  for (size_t i = 0; i < ggml_backend_buffer_get_size(b.get()); ++i)
    if (p[i] != value) return false;
  return true;
}

TEST(LazyZeroClear, ZeroClearReadsBackAsZerosAndReleasesThePages) {
  const size_t size = (size_t{64} << 20) + 1000;  // not a whole number of pages
  Buffer b = cpu_buffer(size);
  ASSERT_TRUE(b);
  std::memset(ggml_backend_buffer_get_base(b.get()), 0xAB, size);
  const uint64_t rss_full = ebb::read_process_memory().rss;
  ggml_backend_buffer_clear(b.get(), 0);
  const uint64_t rss_cleared = ebb::read_process_memory().rss;
  EXPECT_LT(rss_cleared + (size_t{48} << 20), rss_full) << "the cleared pages should have left RSS";
  EXPECT_TRUE(all_bytes(b, 0));
}

TEST(LazyZeroClear, OtherValuesAndSmallBuffersAreWritten) {
  Buffer big = cpu_buffer(size_t{4} << 20);
  ggml_backend_buffer_clear(big.get(), 0x5A);
  EXPECT_TRUE(all_bytes(big, 0x5A));
  Buffer small = cpu_buffer(4096 * 3 + 17);
  std::memset(ggml_backend_buffer_get_base(small.get()), 0xAB, ggml_backend_buffer_get_size(small.get()));
  ggml_backend_buffer_clear(small.get(), 0);
  EXPECT_TRUE(all_bytes(small, 0));
}

}  // namespace
