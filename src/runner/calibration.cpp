#include "runner/calibration.h"

#include "common/process_memory.h"
#include "engine/tiny_model_run.h"

namespace ebb::runner {

nlohmann::json calibrate(bool loaded) {
  if (loaded) return {{"error", "not an idle runner"}};
  const uint64_t before = own_file_rss_except("");  // reading smaps takes about a millisecond
  try {
    engine::run_tiny_model();
  } catch (const std::exception& e) {
    return {{"error", e.what()}};
  }
  const uint64_t after = own_file_rss_except("");
  return {{"code_bytes", after > before ? after - before : 0}};
}

}  // namespace ebb::runner
