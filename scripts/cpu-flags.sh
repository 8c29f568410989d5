#!/usr/bin/env bash
# Prints ggml's CPU instruction-set flags for the pinned llama.cpp build.
#   scripts/cpu-flags.sh          this machine's features (read from /proc/cpuinfo)
#   scripts/cpu-flags.sh portable AVX2/FMA/F16C only: a binary that travels (the CUDA build)
# Never GGML_NATIVE: on CPUs that advertise AMX it compiles AMX kernels that die with SIGILL
# here (the kernel does not grant AMX tile state). Machines of one kind differ too (AVX-512 on
# some, not on others), so the features are read, not assumed.
set -euo pipefail
flags=(-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
if [[ "${1:-}" == portable ]]; then
  have=" avx avx2 fma f16c "
else
  have=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
fi
on() { [[ "$have" == *" $1 "* ]] && echo ON || echo OFF; }
flags+=(-DGGML_AVX="$(on avx)" -DGGML_AVX2="$(on avx2)" -DGGML_FMA="$(on fma)" -DGGML_F16C="$(on f16c)"
  -DGGML_AVX_VNNI="$(on avx_vnni)" -DGGML_BMI2="$(on bmi2)"
  -DGGML_AVX512="$(on avx512f)" -DGGML_AVX512_VBMI="$(on avx512vbmi)"
  -DGGML_AVX512_VNNI="$(on avx512_vnni)" -DGGML_AVX512_BF16="$(on avx512_bf16)")
echo "${flags[@]}"
