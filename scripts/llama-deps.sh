#!/usr/bin/env bash
# Fetch and build the pinned llama.cpp (from node-llama-cpp's npm package) into a cache outside the repo.
# Idempotent: a finished build is reused. Prints the cache directory on its last line.
# Usage: scripts/llama-deps.sh [--cuda]
set -euo pipefail
VERSION=$(<"$(dirname "$0")/../cmake/llama-version.txt")  # the one place it is written
CUDA=OFF
[[ "${1:-}" == "--cuda" ]] && CUDA=ON
CACHE="${EBB_CACHE:-$HOME/.cache/ebb}/llama.cpp-$VERSION"
SRC="$CACHE/src"
BUILD="$CACHE/build-cpu"; [[ $CUDA == ON ]] && BUILD="$CACHE/build-cuda"
STAMP="$BUILD/.ebb-built"  # holds the CPU flags it was built with
# The CPU build uses this machine's instruction sets; the CUDA build travels to a GPU host, so it
# keeps to a portable set.
CPU_FLAGS=$("$(dirname "$0")/cpu-flags.sh" $([[ $CUDA == ON ]] && echo portable))
mkdir -p "$CACHE"

if [[ ! -f "$SRC/.ebb-patched" ]]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-llama-cpp@$VERSION" >/dev/null && tar xzf node-llama-cpp-$VERSION.tgz)
  rm -rf "$SRC"
  git clone -q "$tmp/package/llama/gitRelease.bundle" "$SRC"
  for p in "$tmp"/package/llama/patches/*.diff; do
    [[ -e "$p" ]] && git -C "$SRC" apply "$p"
  done
  cp "$tmp/package/llama/llama.cpp.info.json" "$SRC/" 2>/dev/null || true
  rm -rf "$tmp"
  touch "$SRC/.ebb-patched"
fi

# Rebuilt when the cache was built for another CPU (a cache carried over, or another machine).
if [[ ! -f "$STAMP" || "$(<"$STAMP")" != "$CPU_FLAGS" ]]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  cuda=()
  if [[ $CUDA == ON ]]; then
    cuda=(-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" -DGGML_CUDA_FA_ALL_QUANTS=OFF)
    export PATH="/usr/local/cuda/bin:$PATH"
  fi
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "${cuda[@]}" \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF \
    -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_HTML=OFF -DLLAMA_SUBPROCESS=OFF \
    $CPU_FLAGS >"$CACHE/configure.log" 2>&1
  cmake --build "$BUILD" --target llama llama-common -j"$(nproc)" >"$CACHE/build.log" 2>&1 || { tail -30 "$CACHE/build.log" >&2; exit 1; }
  echo "$CPU_FLAGS" >"$STAMP"
fi
echo "$CACHE"
