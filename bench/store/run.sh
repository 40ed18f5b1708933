#!/usr/bin/env bash
# Builds cellfleet_bench_store (Release, build/bench-store) and runs it against SQLite, then
# against DynamoDB Local (installed by scripts/install-test-tools.sh, started here when it is not
# running already). Prints one table per backend; JSON copies go to build/bench-store/.
#   bench/store/run.sh            10 s per operation
#   bench/store/run.sh --quick    3 s per operation
# Any other options go to both runs, e.g. --threads 4.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
build="$repo/build/bench-store"

seconds=10
extra=()
for arg in "$@"; do
  case "$arg" in
    --quick) seconds=3 ;;
    *) extra+=("$arg") ;;
  esac
done

# -j2: the machine has two cores, shared.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCELLFLEET_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target cellfleet_bench_store -j2
bench="$build/bench/store/cellfleet_bench_store"

"$bench" --backend sqlite --seconds "$seconds" --json "$build/store-sqlite.json" ${extra[@]+"${extra[@]}"}

scripts/install-test-tools.sh
# A DynamoDB Local that was already running (someone's tests) is used and left running; one
# started here is stopped however the run ends.
if [[ -f tools/dynamodb-local.pid ]] && kill -0 "$(cat tools/dynamodb-local.pid)" 2>/dev/null; then
  echo "run.sh: using the DynamoDB Local that is already running" >&2
else
  trap 'scripts/dynamodb-local.sh stop' EXIT
fi
endpoint="$(scripts/dynamodb-local.sh start)"
"$bench" --backend dynamodb --endpoint "$endpoint" --seconds "$seconds" \
  --json "$build/store-dynamodb.json" ${extra[@]+"${extra[@]}"}
