#!/usr/bin/env bash
# Installs what ebb needs (Debian 12), builds the pinned llama.cpp into ~/.cache/ebb once,
# and builds ebb into build/. Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config git ccache curl
  libcpp-httplib-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev iproute2 tmux docker-registry)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# npm fetches the pinned llama.cpp; keep an existing Node.js (it may not be Debian's).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: pinned llama.cpp (first run builds it, ~8 min on 2 cores)"
scripts/llama-deps.sh >/dev/null
echo "setup: pinned client libraries for the tests (ollama, openai from npm)"
scripts/clients.sh >/dev/null

# Quiet on success (warnings only); on failure the errors, and the script fails: a stale
# build/ebb from an earlier run must not pass for a fresh one.
mkdir -p build
if ! cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/configure.log 2>&1; then
  tail -40 build/configure.log >&2
  echo "setup: configuring failed (build/configure.log)" >&2
  exit 1
fi
if ! cmake --build build -j"$(nproc)" >build/build.log 2>&1; then
  grep -E -A3 "error|Error [0-9]" build/build.log | head -80 >&2 || tail -40 build/build.log >&2
  echo "setup: build failed (build/build.log)" >&2
  exit 1
fi
grep -E "warning: " build/build.log || true
test -x build/ebb
echo "setup: build/ebb is ready"
