#include "engine/devices.h"

#include "engine/engine.h"
#include "ggml-backend.h"

#include <vector>

namespace ebb::engine {

static const char* type_name(enum ggml_backend_dev_type t) {
  switch (t) {
    case GGML_BACKEND_DEVICE_TYPE_CPU: return "cpu";
    case GGML_BACKEND_DEVICE_TYPE_GPU: return "gpu";
    case GGML_BACKEND_DEVICE_TYPE_IGPU: return "igpu";
    case GGML_BACKEND_DEVICE_TYPE_ACCEL: return "accel";
    default: return "other";
  }
}

nlohmann::json list_devices() {
  init_backend_once();
  auto out = nlohmann::json::array();
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    size_t free = 0, total = 0;
    ggml_backend_dev_memory(dev, &free, &total);
    ggml_backend_dev_props props{};
    ggml_backend_dev_get_props(dev, &props);
    const char* desc = ggml_backend_dev_description(dev);
    nlohmann::json d = {{"id", ggml_backend_dev_name(dev)},
                        {"name", desc ? desc : ""},
                        {"description", desc ? desc : ""},
                        {"type", type_name(ggml_backend_dev_type(dev))},
                        {"total", total},
                        {"free", free}};
    if (props.device_id) d["pci_bus_id"] = props.device_id;
    out.push_back(std::move(d));
  }
  return {{"devices", out}};
}

int init_gpu_contexts() {
  init_backend_once();
  static std::vector<ggml_backend_buffer_t> held;  // kept for the process's life, as a model's would be
  int n = 0;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_GPU) continue;
    if (ggml_backend_buffer_t b = ggml_backend_buft_alloc_buffer(ggml_backend_dev_buffer_type(dev), 1 << 20)) {
      held.push_back(b);
      ++n;
    }
  }
  return n;
}

}  // namespace ebb::engine
