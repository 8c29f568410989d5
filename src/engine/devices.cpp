#include "engine/devices.h"

#include "engine/engine.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"

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
  // Kept for the process's life, as a model's would be: the point is what they cost on the device.
  static std::vector<ggml_backend_t> backends;
  static std::vector<ggml_backend_buffer_t> buffers;
  static std::vector<ggml_context*> contexts;
  int n = 0;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_GPU) continue;
    ggml_backend_t backend = ggml_backend_dev_init(dev, nullptr);
    if (!backend) continue;
    // One small matrix product, as a runner's first decode does one: the driver context, the
    // backend's scratch pool and the BLAS library's workspace all come into being here.
    ggml_init_params ip{ggml_tensor_overhead() * 8 + ggml_graph_overhead(), nullptr, true};
    ggml_context* ctx = ggml_init(ip);
    ggml_tensor* a = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 256, 256);
    ggml_tensor* b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 256, 64);
    ggml_cgraph* graph = ggml_new_graph(ctx);
    ggml_build_forward_expand(graph, ggml_mul_mat(ctx, a, b));
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend);
    if (buf) {
      ggml_backend_buffer_clear(buf, 0);
      ggml_backend_graph_compute(backend, graph);
    }
    backends.push_back(backend);
    buffers.push_back(buf);
    contexts.push_back(ctx);
    ++n;
  }
  return n;
}

}  // namespace ebb::engine
