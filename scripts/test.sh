#!/usr/bin/env bash
# Sets everything up and runs all tests (unit, engine, integration with real runners).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
ctest --output-on-failure -j"$(nproc)"
