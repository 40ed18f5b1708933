#!/usr/bin/env bash
# Builds cellfleet_bench_events (Release, build/bench-events) and runs it against SQLite, then
# against DynamoDB Local (installed by scripts/install-test-tools.sh, started here when it is not
# running already). Prints one table per backend; JSON copies go to build/bench-events/.
#   bench/events/run.sh            10 s of lag at 50 events/s, 2,000 (SQLite) / 1,500 events drained:
#                                  about 40 s per backend
#   bench/events/run.sh --quick    4 s of lag, 1,000 events drained
# Any other options go to both runs, e.g. --rate 20.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
build="$repo/build/bench-events"

options=()
for arg in "$@"; do
  case "$arg" in
    --quick) options+=(--seconds 4 --events 1000) ;;
    *) options+=("$arg") ;;
  esac
done

# -j2: the machine has two cores, shared.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCELLFLEET_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target cellfleet_bench_events -j2
bench="$build/bench/events/cellfleet_bench_events"

# Each run bounds itself (publishing, draining and waiting get 2 x --seconds at most); timeout
# is the backstop.
timeout 300 "$bench" --backend sqlite --json "$build/events-sqlite.json" ${options[@]+"${options[@]}"}

scripts/install-test-tools.sh
# A DynamoDB Local that was already running (someone's tests) is used and left running; one
# started here is stopped however the run ends.
if [[ -f tools/dynamodb-local.pid ]] && kill -0 "$(cat tools/dynamodb-local.pid)" 2>/dev/null; then
  echo "run.sh: using the DynamoDB Local that is already running" >&2
else
  trap 'scripts/dynamodb-local.sh stop' EXIT
fi
endpoint="$(scripts/dynamodb-local.sh start)"
timeout 300 "$bench" --backend dynamodb --endpoint "$endpoint" \
  --json "$build/events-dynamodb.json" ${options[@]+"${options[@]}"}
