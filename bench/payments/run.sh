#!/usr/bin/env bash
# Payments benchmark (issue #7): sustained payments/s through POST /v1/payments, how fast the event
# chain applies them (payment -> contract -> access policy), and the payment -> unlock-command
# latency a pack's gateway sees on its long-poll; on SQLite and (with --dynamodb) on DynamoDB
# Local, next to the ceilings of the same run (a bare Beast endpoint for req/s, single-row SQLite
# commits/s for the store). Builds Release into build/bench-payments, pins each server to CPU 0
# and wrk to CPU 1, prints one table and writes build/bench-payments/payments-results.json.
# Loopback only; every process it starts is stopped on exit.
#
#   bench/payments/run.sh [--quick] [--dynamodb]
#     default: 15 s of payments at 32 connections, 200 latency samples per backend (about
#     3 minutes on SQLite after the build)
#     --quick: 5 s, 50 samples; --dynamodb: also DynamoDB Local (scripts/dynamodb-local.sh)
set -euo pipefail
BENCH_NAME=payments/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # ROOT, WORK, traps, helpers: see there

DURATION=15
LATENCY_SAMPLES=200
DYNAMODB=0
for arg in "$@"; do
  case "$arg" in
    --quick) DURATION=5; LATENCY_SAMPLES=50 ;;
    --dynamodb) DYNAMODB=1 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--quick] [--dynamodb]" >&2; exit 2 ;;
  esac
done
THROUGHPUT_CONTRACTS=200
PLATFORM_TOKEN="bench-platform-admin-token-0000000000000"
HERE="$ROOT/bench/payments"

check_prerequisites
command -v python3 >/dev/null || die "python3 is missing (scripts/install-deps.sh --test installs it)"
BUILD="$ROOT/build/bench-payments"
RESULTS="$BUILD/payments-results.json"
log "building Release into build/bench-payments"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCELLFLEET_BUILD_TESTS=OFF \
  -DCELLFLEET_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD" -j2 --target cellfleet cellfleet_bench_bare_beast >/dev/null
CELLFLEET="$BUILD/cellfleet"
BARE_BEAST="$BUILD/bench/cellfleet_bench_bare_beast"
WORK="$(mktemp -d -t cellfleet-bench-payments.XXXXXX)"
LOAD_BEFORE=$(load_average)
RUN_STARTED=$SECONDS

SERVER_PID=""
BASE=""  # start_cellfleet (lib.sh) sets both

# outbox_pending and wait_drained (events delivered) are bench/lib.sh's.

ROWS=()
# measure_backend NAME [VAR=VALUE...]: setup, latency samples, then the payments run.
measure_backend() {
  local name=$1 data="$WORK/data-$1" out before after lat_line posted drain applied_rate
  shift
  mkdir -p "$data" "$WORK/$name"
  log "$name: cellfleet serve (CPU 0), $((THROUGHPUT_CONTRACTS + LATENCY_SAMPLES)) PAYG contracts"
  DATA="$data" start_cellfleet "$@"
  python3 "$HERE/setup.py" "$BASE" "$PLATFORM_TOKEN" $((THROUGHPUT_CONTRACTS + LATENCY_SAMPLES)) \
    "$LATENCY_SAMPLES" "$WORK/$name"
  wait_drained >/dev/null
  local key
  key=$(cat "$WORK/$name/api_key")
  log "  payment -> unlock command on the pack's long-poll: $LATENCY_SAMPLES samples, one at a time"
  lat_line=$(timeout -k 5 600 python3 "$HERE/unlock_latency.py" "$BASE" "$key" "$WORK/$name/latency.txt" |
    grep '^LATENCY ') || die "the latency client gave no result"
  log "  POST /v1/payments, $CONNECTIONS connections, ${DURATION} s (after ${WARMUP} s of warm-up)"
  run_wrk "$WARMUP" "$WORK/$name/warmup.txt" "$HERE/payments.lua" "$BASE" -- "$WORK/$name/contracts.txt" "$key"
  wait_drained >/dev/null
  out="$WORK/$name/wrk.txt"
  before=$(cpu_ticks "$SERVER_PID")
  local started
  started=$(date +%s%N)
  run_wrk "$DURATION" "$out" "$HERE/payments.lua" "$BASE" -- "$WORK/$name/contracts.txt" "$key"
  drain=$(wait_drained)
  after=$(cpu_ticks "$SERVER_PID")
  posted=$(bench_value "$out" requests)
  # Applied/s: the payments of the run over the time until the last of them (and the events they
  # caused) was delivered.
  applied_rate=$(awk -v n="$posted" -v ns=$(($(date +%s%N) - started)) 'BEGIN { printf "%.0f", n * 1e9 / ns }')
  ROWS+=("$name|$(awk -v cpu=$((after - before)) -v hz="$TICKS_PER_SECOND" -v rss="$(peak_rss_kb "$SERVER_PID")" \
    -v applied="$applied_rate" -v drain="$drain" -v lat="$lat_line" '
    /^BENCH / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    /^BENCH_STATUS / { split($2, kv, "="); not201 = kv[2] }
    END {
      n = split(lat, parts, " ")
      for (i = 2; i <= n; i++) { split(parts[i], kv, "="); l[kv[1]] = kv[2] }
      printf "%.1f|%d|%d|%d|%d|%d|%d|%s|%s|%.2f|%d|%d|%d|%d|%d|%d|%d", \
        v["requests"] * 1e6 / v["duration_us"], v["p50_us"], v["p90_us"], v["p99_us"], v["max_us"], \
        not201, v["connect"] + v["read"] + v["write"] + v["timeout"], applied, drain, cpu / hz, rss, \
        l["samples"], l["p50_us"], l["p90_us"], l["p99_us"], l["max_us"], l["errors"]
    }' "$out")")
  stop "$SERVER_PID"
}

# The req/s ceiling: the bare Beast endpoint on CPU 0, as bench/http.sh measures it.
log "ceiling: bare Beast endpoint (CPU 0, ${DURATION} s)"
BEAST_PORT=$(free_port)
taskset -c 0 "$BARE_BEAST" "$BEAST_PORT" >"$WORK/bare_beast.log" 2>&1 &
BEAST_PID=$!
PIDS+=("$BEAST_PID")
wait_ready "$BEAST_PID" "http://127.0.0.1:$BEAST_PORT/" "$WORK/bare_beast.log"
run_wrk "$WARMUP" /dev/null "$ROOT/bench/wrk_report.lua" "http://127.0.0.1:$BEAST_PORT/"
run_wrk "$DURATION" "$WORK/beast.txt" "$ROOT/bench/wrk_report.lua" "http://127.0.0.1:$BEAST_PORT/"
stop "$BEAST_PID"
CEILING_RPS=$(awk '/^BENCH / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
  END { printf "%.1f", v["requests"] * 1e6 / v["duration_us"] }' "$WORK/beast.txt")
log "SQLite single-row commit ceiling (CPU 0, ${DURATION} s, synchronous=full)"
COMMITS=$(taskset -c 0 python3 "$HERE/commit_ceiling.py" "$WORK" "$DURATION" full |
  sed -n 's/^CEILING commits_per_s=//p')

measure_backend sqlite
if [[ "$DYNAMODB" == 1 ]]; then
  ENDPOINT=$("$ROOT/scripts/dynamodb-local.sh" start)
  PREFIX="bench_payments_$(date +%s)_"
  # Streams off: the emulator slows down with every stream record it keeps, and nothing reads them.
  env CELLFLEET_STORAGE_BACKEND=dynamodb CELLFLEET_DYNAMODB_ENDPOINT="$ENDPOINT" \
    CELLFLEET_DYNAMODB_TABLE_PREFIX="$PREFIX" CELLFLEET_DYNAMODB_STREAMS=off \
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench "$CELLFLEET" migrate >/dev/null
  measure_backend dynamodb CELLFLEET_STORAGE_BACKEND=dynamodb CELLFLEET_DYNAMODB_ENDPOINT="$ENDPOINT" \
    CELLFLEET_DYNAMODB_TABLE_PREFIX="$PREFIX" CELLFLEET_DYNAMODB_STREAMS=off \
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
fi

# --- report --------------------------------------------------------------------------------------
LOAD_AFTER=$(load_average)
RUN_SECONDS=$((SECONDS - RUN_STARTED))
DATE_UTC=$(date -u +%Y-%m-%dT%H:%M:%SZ)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
echo
echo "cellfleet payments benchmark — $DATE_UTC, commit $COMMIT, $(nproc) CPUs ($CPU_MODEL)"
echo "server on CPU 0 (synchronous=full on SQLite), wrk on CPU 1: -t1 -c$CONNECTIONS, ${DURATION} s; latency: $LATENCY_SAMPLES payments one at a time"
echo "load average before: $LOAD_BEFORE, after: $LOAD_AFTER; run took ${RUN_SECONDS} s after the build"
echo "ceilings: bare Beast $(printf '%.0f' "$CEILING_RPS") req/s; SQLite single-row commits $COMMITS/s"
echo
FORMAT='%-9s %9s %7s %7s %7s %7s %7s %10s %8s %9s %8s %9s %9s %9s %9s %6s\n'
# shellcheck disable=SC2059
printf "$FORMAT" backend "posted/s" "p50 ms" "p90 ms" "p99 ms" "max ms" "not201" "applied/s" "drain s" \
  "vs beast" "vs commit" "unlock p50" "unlock p90" "unlock p99" "unlock max" "rss MB"
JSON_ROWS=()
for row in "${ROWS[@]}"; do
  IFS='|' read -r name rps p50 p90 p99 max not201 sock applied drain cpu rss samples lp50 lp90 lp99 lmax lerr <<<"$row"
  vs_beast=$(awk -v a="$rps" -v b="$CEILING_RPS" 'BEGIN { printf "%.3f", a / b }')
  vs_commit=$(awk -v a="$applied" -v b="$COMMITS" 'BEGIN { printf "%.3f", a / b }')
  # shellcheck disable=SC2059
  printf "$FORMAT" "$name" "$(printf '%.0f' "$rps")" "$(ms "$p50")" "$(ms "$p90")" "$(ms "$p99")" "$(ms "$max")" \
    "$not201/$sock" "$applied" "$drain" "$vs_beast" "$vs_commit" "$(ms "$lp50")" "$(ms "$lp90")" \
    "$(ms "$lp99")" "$(ms "$lmax")" "$((rss / 1024))"
  JSON_ROWS+=("$(printf '{"backend":"%s","posted_per_sec":%s,"latency_us":{"p50":%s,"p90":%s,"p99":%s,"max":%s},"not_201":%s,"socket_errors":%s,"applied_per_sec":%s,"drain_seconds":%s,"ratio_posted_to_bare_beast":%s,"ratio_applied_to_sqlite_commits":%s,"server_cpu_seconds":%s,"server_peak_rss_kb":%s,"unlock_latency_us":{"samples":%s,"p50":%s,"p90":%s,"p99":%s,"max":%s,"errors":%s}}' \
    "$name" "$rps" "$p50" "$p90" "$p99" "$max" "$not201" "$sock" "$applied" "$drain" "$vs_beast" "$vs_commit" \
    "$cpu" "$rss" "$samples" "$lp50" "$lp90" "$lp99" "$lmax" "$lerr")")
done
echo
echo "posted/s: POST /v1/payments answered 201 (recorded with its event); applied/s: those payments over"
echo "  the time until the last was applied to its contract and its events delivered (outbox empty)."
echo "unlock: from just before POST /v1/payments to the pack's parked GET /v1/device/commands?wait=30"
echo "  answering with the unlock (payment -> contract -> access policy -> command -> long-poll wake)."
{
  printf '{"benchmark":"payments","date":"%s","commit":"%s","cpus":%s,"cpu_model":"%s",' \
    "$DATE_UTC" "$COMMIT" "$(nproc)" "$CPU_MODEL"
  printf '"load_average_before":"%s","load_average_after":"%s","run_seconds":%s,' \
    "$LOAD_BEFORE" "$LOAD_AFTER" "$RUN_SECONDS"
  printf '"wrk":{"connections":%s,"duration_s":%s},"ceilings":{"bare_beast_requests_per_sec":%s,"sqlite_single_row_commits_per_sec":%s},' \
    "$CONNECTIONS" "$DURATION" "$CEILING_RPS" "$COMMITS"
  printf '"rows":[%s]}\n' "$(IFS=,; echo "${JSON_ROWS[*]}")"
} >"$RESULTS"
echo "results: $RESULTS"
