// Zeroing a CPU KV buffer lazily.
//
// llama.cpp clears every new KV buffer to zero (padded cells must not hold NaNs). On the CPU that
// memset faults in every page of the cache at once, used or not: 0.39 ms per MiB on our VM, so
// 0.19 s of each wake for a 430M model at 4096 tokens. For memory that is private and anonymous,
// as ggml_aligned_malloc's is, MADV_DONTNEED gives the same zeros without touching a page: a page
// is faulted in, zero, when it is first written. A restored 1500-token chat then pays for its
// 1500 cells, not for the whole context.
//
// ebb_engine links with --wrap=ggml_backend_buffer_clear, so llama.cpp's calls land here. Any
// other buffer (a GPU's, pinned host memory, a non-zero value) goes to the real clear, and so does
// every buffer when EBB_EAGER_KV_ZERO=1 (the footprint benchmark wants every allocated page resident).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ggml-backend.h"
#include "ggml-cpu.h"

extern "C" void __real_ggml_backend_buffer_clear(ggml_backend_buffer_t buffer, uint8_t value);

extern "C" void __wrap_ggml_backend_buffer_clear(ggml_backend_buffer_t buffer, uint8_t value) {
  constexpr size_t kMinLazy = size_t{1} << 20;  // below a MiB the memset is cheaper than the syscall
  static const bool eager = [] {
    const char* e = std::getenv("EBB_EAGER_KV_ZERO");
    return e != nullptr && *e != '\0' && *e != '0';
  }();
  if (eager || value != 0 || buffer == nullptr ||
      ggml_backend_buffer_get_type(buffer) != ggml_backend_cpu_buffer_type() ||
      ggml_backend_buffer_get_size(buffer) < kMinLazy) {
    __real_ggml_backend_buffer_clear(buffer, value);
    return;
  }
  auto* base = static_cast<char*>(ggml_backend_buffer_get_base(buffer));
  const size_t size = ggml_backend_buffer_get_size(buffer);
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  auto* lo = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(base) + page - 1) & ~(page - 1));
  auto* hi = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(base + size)) & ~(page - 1));
  std::memset(base, 0, static_cast<size_t>(lo - base));
  std::memset(hi, 0, static_cast<size_t>(base + size - hi));
  if (madvise(lo, static_cast<size_t>(hi - lo), MADV_DONTNEED) != 0) std::memset(lo, 0, static_cast<size_t>(hi - lo));
}
