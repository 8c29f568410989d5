#!/usr/bin/env bash
# Build the peer: llama-server, llama-bench and llama-quantize from the same pinned, patched llama.cpp that ebb links,
# with the same CPU flags as scripts/llama-deps.sh, into a separate build dir. Idempotent (stamp file).
# Prints the directory holding the peer binaries on its last line.
# Usage: bench/build-peer.sh
set -euo pipefail
VERSION=$(<"$(dirname "$0")/../cmake/llama-version.txt")  # the one place it is written
CACHE="${EBB_CACHE:-$HOME/.cache/ebb}/llama.cpp-$VERSION"
SRC="$CACHE/src"
BUILD="$CACHE/build-peer"
STAMP="$BUILD/.ebb-peer-built"

if [[ ! -f "$SRC/.ebb-patched" ]]; then
  # Fetch and patch the source exactly as ebb does (builds ebb's libllama too if missing).
  "$(dirname "$0")/../scripts/llama-deps.sh" >/dev/null
fi

CPU_FLAGS=$("$(dirname "$0")/../scripts/cpu-flags.sh")  # the same instruction sets as ebb's build
if [[ ! -f "$STAMP" || "$(<"$STAMP")" != "$CPU_FLAGS" || ! -x "$BUILD/bin/llama-quantize" ]]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # LLAMA_SUBPROCESS=ON: needed for llama-server's router mode (--models-max).
  cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_HTML=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_SUBPROCESS=ON \
    $CPU_FLAGS >"$CACHE/peer-configure.log" 2>&1 \
    || { tail -30 "$CACHE/peer-configure.log" >&2; exit 1; }
  cmake --build "$BUILD" --target llama-server llama-bench llama-quantize -j"$(nproc)" >"$CACHE/peer-build.log" 2>&1 \
    || { tail -30 "$CACHE/peer-build.log" >&2; exit 1; }
  echo "$CPU_FLAGS" >"$STAMP"
fi
echo "$BUILD/bin"
