#!/usr/bin/env bash
# Telemetry benchmark (issue #6): ingest readings/s with batches of 100 and 1,000 fleet-scattered
# readings at 32 connections, and history latency over a store seeded with millions of readings,
# on SQLite, next to the ceilings of the same run (a bare Beast endpoint for req/s, raw SQLite
# batched inserts for readings/s). Builds Release into build/bench-telemetry, pins each server to
# CPU 0 and wrk to CPU 1, prints one table and writes build/bench-telemetry/telemetry-results.json.
# Loopback only; every process it starts is stopped on exit.
#
#   bench/telemetry/run.sh [--quick]   default: 15 s per scenario, up to 10M readings seeded (at
#                                      most 3 min of seeding): about 6 minutes after the build
#                                      --quick: 5 s per scenario, 600,000 readings (at most
#                                      20 s): about 2 minutes
#
# See bench/README.md ("The telemetry benchmark") for what each row means.
set -euo pipefail
BENCH_NAME=telemetry/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # ROOT, WORK, traps, helpers: see there

DURATION=15
SEED_READINGS=10000000
SEED_BUDGET=180  # seconds: seeding stops there, short of SEED_READINGS if the disk is slow
case "${1:-}" in
  "") ;;
  --quick) DURATION=5; SEED_READINGS=600000; SEED_BUDGET=20 ;;
  -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

BUILD="$ROOT/build/bench-telemetry"
RESULTS="$BUILD/telemetry-results.json"
FLEET=10000           # packs registered, each ingest reading names one of them at random
HISTORY_PACKS=400     # packs given seeded history
SEED_INTERVAL_S=60    # one reading a minute per pack, as the issue's fleets report
INGEST_TIMEOUT=30s    # wrk's per-request timeout: a 1,000-reading batch may wait seconds in line
# A test credential for a throw-away data directory, 40 characters (the server wants >= 32).
PLATFORM_TOKEN="bench-platform-admin-token-0000000000000"

check_prerequisites
log "building Release into build/bench-telemetry"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCELLFLEET_BUILD_TESTS=OFF \
  -DCELLFLEET_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD" -j2 --target cellfleet cellfleet_bench_bare_beast cellfleet_bench_telemetry \
  >/dev/null
CELLFLEET="$BUILD/cellfleet"
BARE_BEAST="$BUILD/bench/cellfleet_bench_bare_beast"
TOOL="$BUILD/bench/telemetry/cellfleet_bench_telemetry"

WORK="$(mktemp -d -t cellfleet-bench-telemetry.XXXXXX)"
DATA="$WORK/data"
LOAD_BEFORE=$(load_average)
RUN_STARTED=$SECONDS
NOW_MS=$(($(date +%s) * 1000))
HOUR_MS=3600000
# Ingest runs take reading times from slots two hours wide, 23 to 15 hours ago: inside the
# retention, never ahead of the server's clock, and distinct per run so no run rewrites another's
# readings. Seeded history ends before them (a day ago) and goes back up to ~17 days.
slot_start_ms() { echo $((NOW_MS - 23 * HOUR_MS + $1 * 2 * HOUR_MS)); }
SEED_END_MS=$((NOW_MS - 24 * HOUR_MS))
PROBE_MS=$((NOW_MS - 25 * HOUR_MS))

# --- the server ------------------------------------------------------------------------------------
SERVER_PID=""
BASE=""  # start_cellfleet (lib.sh) sets both; its one-second drain drops what a run left queued

api() {  # api METHOD PATH [curl args...]: the body on stdout; fails on a non-2xx answer
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body --max-time 120 -X "$method" "$BASE$path" \
    -H "Authorization: Bearer $API_KEY" "$@"
}

iso() { date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%S.000Z; }

stored_readings() {  # how many readings the store holds, read beside the running server
  "$TOOL" count --database "$DATA/cellfleet.db" | sed -n 's/^COUNT readings=//p'
}
now_ns() { date +%s%N; }

# --- measuring -----------------------------------------------------------------------------------
# One row per scenario, |-separated: name, items per request, req/s, p50, p90, p99, max (µs),
# non-2xx, socket errors, answers other than 200, server CPU seconds, server peak RSS (KiB),
# 1-minute load average when the scenario started, items/s, requests completed, connections.
ROWS=()

# measure SERVER_PID NAME ITEMS SCRIPT URL [wrk args...] [-- script args...]
measure() {
  local server=$1 name=$2 items=$3 script=$4 url=$5 out before after load
  shift 5
  out="$BUILD/wrk-${name//[^A-Za-z0-9]/_}.txt"
  log "  $name (${DURATION} s)"
  load=$(cut -d' ' -f1 /proc/loadavg)
  before=$(cpu_ticks "$server")
  run_wrk "$DURATION" "$out" "$script" "$url" "$@"
  after=$(cpu_ticks "$server")
  grep -q '^BENCH ' "$out" || die "no summary in $out"
  ROWS+=("$(awk -v name="$name" -v items="$items" -v cpu="$((after - before))" -v c="$CONNECTIONS" \
      -v hz="$TICKS_PER_SECOND" -v rss="$(peak_rss_kb "$server")" -v load="$load" '
    /^BENCH / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    /^BENCH_STATUS / { split($2, kv, "="); not200 = kv[2] }
    END {
      rps = v["requests"] * 1e6 / v["duration_us"]
      printf "%s|%s|%.1f|%d|%d|%d|%d|%d|%d|%s|%.2f|%d|%s|%.0f|%d|%d\n", name, items, rps,
             v["p50_us"], v["p90_us"], v["p99_us"], v["max_us"], v["status"],
             v["connect"] + v["read"] + v["write"] + v["timeout"], (not200 == "" ? "-" : not200),
             cpu / hz, rss, load, rps * items, v["requests"], c
    }' "$out")")
}

# measure_ceiling NAME: the bare Beast endpoint on CPU 0, as bench/http.sh measures it.
measure_ceiling() {
  local port pid
  log "$1: bare Beast endpoint (CPU 0)"
  port=$(free_port)
  taskset -c 0 "$BARE_BEAST" "$port" >"$WORK/bare_beast.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_ready "$pid" "http://127.0.0.1:$port/" "$WORK/bare_beast.log"
  run_wrk "$WARMUP" /dev/null "$ROOT/bench/wrk_report.lua" "http://127.0.0.1:$port/"
  measure "$pid" "$1" 0 "$ROOT/bench/wrk_report.lua" "http://127.0.0.1:$port/"
  stop "$pid"
}

# measure_ingest BATCH SLOT: a warm-up run, a restart that drops the batches it left queued, then
# the measured run on a server of its own. Readings/s is what the store gained during the run: a
# batch may take longer than the whole run (32 of them queue for one writer), and then wrk counts
# no request while the server stores thousands of readings. Each run has reading times of its own.
measure_ingest() {
  local batch=$1 slot=$2 script="$ROOT/bench/telemetry/ingest.lua" before after started stored
  local args=(-H "Authorization: Bearer $API_KEY" --timeout "$INGEST_TIMEOUT")
  start_cellfleet
  run_wrk "$WARMUP" /dev/null "$script" "$BASE/v1/telemetry" "${args[@]}" \
    -- "$WORK/packs.txt" "$batch" "$(slot_start_ms "$slot")"
  stop "$SERVER_PID"
  start_cellfleet
  before=$(stored_readings)
  started=$(now_ns)
  measure "$SERVER_PID" "ingest batch=$batch" "$batch" "$script" "$BASE/v1/telemetry" "${args[@]}" \
    -- "$WORK/packs.txt" "$batch" "$(slot_start_ms $((slot + 1)))"
  after=$(stored_readings)
  stored=$(awk -v n=$((after - before)) -v ns=$(($(now_ns) - started)) 'BEGIN { printf "%.0f", n * 1e9 / ns }')
  ROWS[-1]="$(awk -F'|' -v OFS='|' -v s="$stored" '{ $14 = s; print }' <<<"${ROWS[-1]}")"
  stop "$SERVER_PID"
}

# measure_history MODE ITEMS [CONNECTIONS]: a random day of a random seeded pack. At 32
# connections the latency is mostly the wait for a worker; at 1 it is one request's own time.
measure_history() {
  local mode=$1 items=$2 CONNECTIONS=${3:-$CONNECTIONS} script="$ROOT/bench/telemetry/history.lua"
  local args=(-H "Authorization: Bearer $API_KEY" -- "$WORK/history-packs.txt" "$mode" "$SEED_FROM_MS" "$SEED_TO_MS")
  local name="history $mode${3:+ c=$3}"
  run_wrk "$WARMUP" /dev/null "$script" "$BASE/" "${args[@]}"
  measure "$SERVER_PID" "$name" "$items" "$script" "$BASE/" "${args[@]}"
}

measure_ceiling "ceiling"

# --- the fleet: an organization and its packs, through the API ------------------------------------
log "cellfleet serve on SQLite in $WORK (CPU 0): registering $FLEET packs"
start_cellfleet
API_KEY=$(create_org "$BASE" "$PLATFORM_TOKEN" bench)
ORG_ID=$(api GET /v1/organization | sed -n 's/.*"id" *: *"\(org_[^"]*\)".*/\1/p')
[[ -n "$ORG_ID" ]] || die "GET /v1/organization named no org_ id"

import_started=$SECONDS
: >"$WORK/packs.txt"
import_packs "$BASE" "$API_KEY" 1 "$FLEET" BENCH "$WORK/packs.txt"
IMPORT_SECONDS=$((SECONDS - import_started))
[[ "$(wc -l <"$WORK/packs.txt")" -eq "$FLEET" ]] || die "the import returned $(wc -l <"$WORK/packs.txt") ids, not $FLEET"
head -n "$HISTORY_PACKS" "$WORK/packs.txt" >"$WORK/history-packs.txt"
log "  $FLEET packs in ${IMPORT_SECONDS} s"
# One reading must be accepted before anything is measured.
code=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -X POST "$BASE/v1/telemetry" \
  -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' \
  -d "{\"readings\":[{\"device_id\":\"$(head -n 1 "$WORK/packs.txt")\",\"at\":\"$(iso "$PROBE_MS")\",\"soc\":50}]}") ||
  code=000
[[ "$code" == 200 ]] || die "POST /v1/telemetry with one reading answered $code, not 200"
stop "$SERVER_PID"

# --- ingest ----------------------------------------------------------------------------------------
log "ingest: POST /v1/telemetry, readings of random packs among $FLEET"
measure_ingest 100 0
measure_ingest 1000 2

# The readings/s ceiling, on the server's CPU and disk: bench/store's raw SQLite batched insert.
log "raw SQLite ceiling (CPU 0, ${DURATION} s)"
timeout -k 5 $((DURATION * 2 + 60)) taskset -c 0 \
  "$TOOL" raw-ceiling --dir "$WORK" --seconds "$DURATION" --synchronous full >"$WORK/raw.txt"
RAW_LINE=$(grep '^RAW ' "$WORK/raw.txt") || die "no RAW line from the ceiling"
raw_value() { tr ' ' '\n' <<<"$RAW_LINE" | sed -n "s/^$1=//p"; }

# --- history ---------------------------------------------------------------------------------------
log "seeding up to $SEED_READINGS readings into $HISTORY_PACKS packs (at most $SEED_BUDGET s)"
timeout -k 5 $((SEED_BUDGET + 120)) "$TOOL" seed --database "$DATA/cellfleet.db" --org "$ORG_ID" \
  --devices "$WORK/history-packs.txt" --readings "$SEED_READINGS" --interval-seconds "$SEED_INTERVAL_S" \
  --end-ms "$SEED_END_MS" --budget-seconds "$SEED_BUDGET" >"$WORK/seed.txt"
SEED_LINE=$(grep '^SEED ' "$WORK/seed.txt") || die "no SEED line from the seeder"
seed_value() { tr ' ' '\n' <<<"$SEED_LINE" | sed -n "s/^$1=//p"; }
SEED_FROM_MS=$(seed_value from_ms)
SEED_TO_MS=$(seed_value to_ms)
[[ "$SEED_TO_MS" -gt "$SEED_FROM_MS" ]] ||
  die "seeding wrote no whole window of readings in $SEED_BUDGET s: nothing to query"
DB_BYTES=$(du -cb "$DATA"/cellfleet.db* | tail -n 1 | cut -f1)
log "  $(seed_value readings) readings in $(seed_value seconds) s ($(seed_value readings_per_second)/s)"

start_cellfleet
# A day (at most) of one reading per interval: what a bucketed request aggregates.
DAY_READINGS=$(awk -v s="$SEED_FROM_MS" -v t="$SEED_TO_MS" -v i="$SEED_INTERVAL_S" \
  'BEGIN { span = t - s; if (span > 86400000) span = 86400000; printf "%d", span / (i * 1000) }')
expect_200 "$BASE/v1/devices/$(head -n 1 "$WORK/history-packs.txt")/telemetry?from=$(iso "$SEED_FROM_MS")&limit=100" \
  -H "Authorization: Bearer $API_KEY"
log "history: GET /v1/devices/{id}/telemetry over a day of one of $HISTORY_PACKS packs"
measure_history raw 100
measure_history bucket "$DAY_READINGS"
measure_history raw 100 1
measure_history bucket "$DAY_READINGS" 1
stop "$SERVER_PID"
measure_ceiling "ceiling again"

# --- report --------------------------------------------------------------------------------------
LOAD_AFTER=$(load_average)
RUN_SECONDS=$((SECONDS - RUN_STARTED))
field() { cut -d'|' -f"$2" <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
pct() { awk -v r="$1" 'BEGIN { printf "%.1f%%", r * 100 }'; }

CEILING_RPS=$(field "${ROWS[0]}" 3)
RAW_ROWS_PER_S=$(raw_value rows_per_second)
DATE_UTC=$(date -u +%Y-%m-%dT%H:%M:%SZ)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=""
[[ -z "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]] || DIRTY="+dirty"
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

echo
echo "cellfleet telemetry benchmark — $DATE_UTC, commit $COMMIT$DIRTY, $(nproc) CPUs ($CPU_MODEL)"
echo "server on CPU 0 (SQLite, synchronous=full, 1 I/O + 4 worker threads), wrk on CPU 1: -t1 -c$CONNECTIONS (c=1 rows: one), ${DURATION} s per scenario, 127.0.0.1"
echo "load average before: $LOAD_BEFORE, after: $LOAD_AFTER (other processes share both CPUs); run took ${RUN_SECONDS} s after the build"
echo
FORMAT='%-18s %8s %9s %8s %8s %8s %8s %9s %6s %8s %7s %5s %9s %6s %5s\n'
# shellcheck disable=SC2059  # the format is ours, shared by header and rows
printf "$FORMAT" scenario "req/s" "items/s" "p50 ms" "p90 ms" "p99 ms" "max ms" "n2xx/sock" "not200" \
  "vs beast" "vs raw" "cpu" "req/cpu-s" "rss MB" "load"
printf '%s\n' "$(printf '%.0s-' $(seq 139))"
JSON_ROWS=()
SUMMARY=()
for row in "${ROWS[@]}"; do
  IFS='|' read -r name items rps p50 p90 p99 max non2xx sockerr not200 cpu rss load ips requests \
    connections <<<"$row"
  vs_beast=$(ratio "$rps" "$CEILING_RPS")
  vs_raw=null
  [[ "$name" != ingest* ]] || vs_raw=$(ratio "$ips" "$RAW_ROWS_PER_S")
  per_cpu=$(awk -v r="$rps" -v s="$DURATION" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? r * s / c : 0) }')
  share=$(awk -v c="$cpu" -v d="$DURATION" 'BEGIN { printf "%.0f%%", c / d * 100 }')
  latencies=("$(ms "$p50")" "$(ms "$p90")" "$(ms "$p99")" "$(ms "$max")")
  latency_json="{\"p50\":$p50,\"p90\":$p90,\"p99\":$p99,\"max\":$max}"
  if [[ "$requests" == 0 ]]; then  # no request completed: wrk has no latency to give
    latencies=("> ${DURATION}s" - - -)
    latency_json=null
  fi
  # shellcheck disable=SC2059
  printf "$FORMAT" "$name" "$(printf '%.0f' "$rps")" "$([[ "$items" == 0 ]] && echo - || echo "$ips")" \
    "${latencies[@]}" "$non2xx/$sockerr" "$not200" "$(pct "$vs_beast")" \
    "$([[ "$vs_raw" == null ]] && echo - || pct "$vs_raw")" "$share" "$per_cpu" "$((rss / 1024))" "$load"
  JSON_ROWS+=("$(printf '{"scenario":"%s","connections":%s,"items_per_request":%s,"requests":%s,"requests_per_sec":%s,"items_per_sec":%s,"latency_us":%s,"non_2xx":%s,"socket_errors":%s,"not_200":%s,"ratio_to_bare_beast_requests":%s,"ratio_to_raw_sqlite_rows":%s,"server_cpu_seconds":%s,"requests_per_cpu_second":%s,"server_peak_rss_kb":%s,"load_average_1m_at_start":%s}' \
    "$name" "$connections" "$items" "$requests" "$rps" "$ips" "$latency_json" "$non2xx" "$sockerr" \
    "$([[ "$not200" == - ]] && echo null || echo "$not200")" "$vs_beast" "$vs_raw" "$cpu" "$per_cpu" \
    "$rss" "$load")")
  if [[ "$name" == ingest* ]]; then
    SUMMARY+=("$name: $ips readings/s stored = $(pct "$vs_raw") of raw SQLite's $RAW_ROWS_PER_S rows/s; $requests requests completed in ${DURATION} s ($(pct "$vs_beast") of the bare Beast's req/s)")
  fi
done
# shellcheck disable=SC2059
printf "$FORMAT" "raw SQLite insert" "$(raw_value transactions_per_second)" "$RAW_ROWS_PER_S" \
  "$(ms "$(raw_value p50_us)")" "$(ms "$(raw_value p90_us)")" "$(ms "$(raw_value p99_us)")" \
  "$(ms "$(raw_value max_us)")" - - - "100.0%" - - - -
echo
echo "items: ingest = readings the store gained during the run (counted in it); history raw ="
echo "  readings returned (limit 100); history bucket = readings aggregated into 24 hourly buckets."
echo "vs beast = req/s / the first ceiling row's; vs raw = readings/s / raw SQLite rows/s (bench/store's"
echo "  batched insert: 1,000 fleet-scattered rows a transaction, synchronous=full, on CPU 0; its"
echo "  req/s is transactions/s and its latencies are per transaction)."
printf '%s\n' "${SUMMARY[@]}"
echo "registration: $FLEET packs through POST /v1/devices:import in ${IMPORT_SECONDS} s"
echo "seeded: $(seed_value readings) readings over $HISTORY_PACKS packs (one a minute each, $(iso "$SEED_FROM_MS") to $(iso "$SEED_TO_MS")) in $(seed_value seconds) s =" \
  "$(seed_value readings_per_second) readings/s with Store::put_many (synchronous=$(seed_value synchronous)); $( [[ "$(seed_value complete)" == 1 ]] && echo "all of the $SEED_READINGS planned" || echo "the $SEED_BUDGET s budget ran out before the $SEED_READINGS planned")"
echo "database after seeding: $((DB_BYTES / 1048576)) MB (cellfleet.db and its WAL)"

{
  printf '{"benchmark":"telemetry","date":"%s","commit":"%s%s","cpus":%s,"cpu_model":"%s",' \
    "$DATE_UTC" "$COMMIT" "$DIRTY" "$(nproc)" "$CPU_MODEL"
  printf '"load_average_before":"%s","load_average_after":"%s","run_seconds":%s,' \
    "$LOAD_BEFORE" "$LOAD_AFTER" "$RUN_SECONDS"
  printf '"wrk":{"threads":1,"connections":%s,"duration_s":%s,"server_cpu":0,"wrk_cpu":1},' \
    "$CONNECTIONS" "$DURATION"
  printf '"fleet":{"packs":%s,"import_seconds":%s},' "$FLEET" "$IMPORT_SECONDS"
  printf '"ceilings":{"bare_beast_requests_per_sec":%s,"raw_sqlite_rows_per_sec":%s,"raw_sqlite_rows_per_transaction":%s,"raw_sqlite_synchronous":"%s","raw_sqlite_latency_us":{"p50":%s,"p90":%s,"p99":%s,"max":%s}},' \
    "$CEILING_RPS" "$RAW_ROWS_PER_S" "$(raw_value rows_per_transaction)" "$(raw_value synchronous)" \
    "$(raw_value p50_us)" "$(raw_value p90_us)" "$(raw_value p99_us)" "$(raw_value max_us)"
  printf '"seed":{"readings":%s,"planned":%s,"complete":%s,"packs":%s,"seconds":%s,"readings_per_sec":%s,"synchronous":"%s","from_ms":%s,"to_ms":%s,"database_bytes":%s},' \
    "$(seed_value readings)" "$SEED_READINGS" "$([[ "$(seed_value complete)" == 1 ]] && echo true || echo false)" \
    "$HISTORY_PACKS" "$(seed_value seconds)" "$(seed_value readings_per_second)" "$(seed_value synchronous)" \
    "$SEED_FROM_MS" "$SEED_TO_MS" "$DB_BYTES"
  printf '"rows":[%s]}\n' "$(IFS=,; echo "${JSON_ROWS[*]}")"
} >"$RESULTS"
echo "written: ${RESULTS#"$ROOT"/} (raw wrk output: build/bench-telemetry/wrk-*.txt)"
