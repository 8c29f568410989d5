#pragma once
// The compute devices ggml sees (CPU, GPUs, accelerators) with their memory, for
// `ebb runner --devices`.
#include <nlohmann/json.hpp>

namespace ebb::engine {

// {"devices":[{"id","name","description","type":"cpu|gpu|igpu|accel|other","total","free"}]}
// id: ggml's device name ("CPU", "CUDA0"); name: its description ("NVIDIA H100 80GB HBM3");
// "pci_bus_id" is added where ggml knows it. total/free in bytes (the CPU reports host RAM).
nlohmann::json list_devices();

// Makes this process a GPU user before any model: the backend is initialized and a small buffer
// is allocated on every GPU, so the driver's per-process context exists. What that costs on the
// device is the runner baseline on a GPU (the supervisor adds what a first decode allocates,
// measured on the first runner that computes). Returns how many GPUs were touched (0 on a CPU).
int init_gpu_contexts();

}  // namespace ebb::engine
