#!/usr/bin/env bash
# Installs everything the tests need, builds cellfleet twice and runs the whole suite on each:
#   1. AddressSanitizer + UndefinedBehaviorSanitizer (Debug), warnings as errors;
#   2. RelWithDebInfo, warnings as errors — its CTest summary is the last thing printed.
# The storage contract suite runs against SQLite and against DynamoDB Local, started here on a
# free loopback port and stopped on exit. Set CELLFLEET_SKIP_ASAN=1 for a quicker local run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

scripts/install-deps.sh --test
scripts/install-test-tools.sh

jobs=$(nproc)
configure() {  # build-dir, extra cmake args...
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DCELLFLEET_WERROR=ON "$@" >/dev/null
}

# Each test run gets a DynamoDB Local of its own, started just before it: the emulator slows down
# the longer it serves (a 500-pack import took 12 s on a fresh one and over 60 s on one that had
# served the whole suite, its tables since deleted), so the second run must not inherit the
# first one's.
fresh_dynamodb() {
  scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
  local endpoint
  endpoint=$(scripts/dynamodb-local.sh start)
  export CELLFLEET_TEST_DYNAMODB_ENDPOINT="$endpoint"
  echo "test.sh: DynamoDB Local at $endpoint"
}
# An absolute path: the release run below ends inside build/ci, where a relative one is not found
# (and "|| true" hid that, leaving an emulator running after every run).
trap '"$repo/scripts/dynamodb-local.sh" stop >/dev/null 2>&1 || true' EXIT

if [[ "${CELLFLEET_SKIP_ASAN:-0}" != "1" ]]; then
  echo "test.sh: sanitizer build (address, undefined)"
  configure build/asan -DCMAKE_BUILD_TYPE=Debug -DCELLFLEET_SANITIZE=ON -DCELLFLEET_BUILD_BENCH=OFF
  cmake --build build/asan -j "$jobs"
  fresh_dynamodb
  (cd build/asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j 2 --timeout 600 >"$repo/build/asan-ctest.log" 2>&1) || {
    cat build/asan-ctest.log
    echo "test.sh: the sanitizer run failed"
    exit 1
  }
  tail -n 3 build/asan-ctest.log
fi

# The benchmarks are compiled here (not run: they report, CI does not time anything).
echo "test.sh: release build (RelWithDebInfo), benchmarks included"
configure build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/ci -j "$jobs"
fresh_dynamodb
cd build/ci
ctest --output-on-failure -j 2 --timeout 600
