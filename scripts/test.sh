#!/usr/bin/env bash
# Sets everything up and runs all tests (unit, engine, integration with real runners); then builds
# the same code with AddressSanitizer + UBSan into build-asan/ and runs the unit, supervisor and
# integration tests there (the runners they start are the sanitized ebb too; the integration suites
# of the server's own paths unless EBB_SANITIZE_ALL=1). EBB_SKIP_SANITIZERS=1 skips that.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "test: setup took ${SECONDS} s"
(cd build && ctest --output-on-failure -j"$(nproc)")
echo "test: tests done at ${SECONDS} s"

[[ "${EBB_SKIP_SANITIZERS:-0}" == 1 ]] && exit 0
echo "test: sanitizer build (build-asan)"
mkdir -p build-asan
if ! cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEBB_SANITIZE=ON >build-asan/configure.log 2>&1; then
  tail -40 build-asan/configure.log >&2
  exit 1
fi
if ! cmake --build build-asan -j"$(nproc)" --target ebb ebb_unit_tests ebb_supervisor_tests ebb_integration_tests >build-asan/build.log 2>&1; then
  grep -E -A3 "error|Error [0-9]" build-asan/build.log | head -80 >&2 || tail -40 build-asan/build.log >&2
  echo "test: sanitizer build failed (build-asan/build.log)" >&2
  exit 1
fi

# Every process (tests, ebb serve, runners) writes its sanitizer reports to a file of its own
# here: a runner's report would otherwise reach only a server log, and its exit might go unseen.
echo "test: sanitizer build done at ${SECONDS} s"
reports="$PWD/build-asan/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1"
export LSAN_OPTIONS="suppressions=$PWD/cmake/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
status=0
build-asan/tests/ebb_unit_tests --gtest_brief=1 || status=1
build-asan/tests/ebb_supervisor_tests --gtest_brief=1 || status=1
# All integration tests under the sanitizers take about 30 min on 2 cores, which CI's 90 minutes
# cannot hold next to two cold builds: CI runs the suites of the server's own paths (faults,
# memory, hostile input, the API gate, serving); EBB_SANITIZE_ALL=1 runs every one.
filter="Faults.*:Memory.*:Generate.*:BadInput.*:Validate.*:Safety.*:Serving.*"
[[ "${EBB_SANITIZE_ALL:-0}" == 1 ]] && filter="*"
(cd build-asan/tests && ./ebb_integration_tests --gtest_brief=1 --gtest_filter="$filter") || status=1
if compgen -G "$reports/*" >/dev/null; then
  echo "test: sanitizer reports:" >&2
  for f in "$reports"/*; do echo "== $f" >&2; head -80 "$f" >&2; done
  status=1
fi
echo "test: sanitized tests done at ${SECONDS} s"
exit $status
