#!/usr/bin/env bash
# SSE fan-out benchmark (issue #8): 100 clients on GET /v1/events/stream of one organization while
# a publisher registers packs through the API at a fixed rate; delivered events/s per client and in
# total, latency from the event's id time (stamped just before its commit) to receipt
# p50/p90/p99/max, drops (connections closed, events missed, duplicates, out of order), server CPU
# and peak RSS. Runs twice on SQLite: with the default settle time (200 ms: a stream writes an
# event only once it is that old) and with none, to show what ordering safety costs. Builds
# Release into build/bench-sse, pins the server to CPU 0 and the clients to CPU 1, prints a table
# and writes build/bench-sse/sse-results.json. Loopback only; every process it starts is stopped on
# exit.
#
#   bench/sse/run.sh [--quick]
#     default: 30 s of publishing at 20 events/s per scenario (about 2 minutes after the build)
#     --quick: 10 s
set -euo pipefail
BENCH_NAME=sse/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # ROOT, WORK, traps, helpers: see there

DURATION=30
CLIENTS=${CLIENTS:-100}
RATE=${RATE:-20}
for arg in "$@"; do
  case "$arg" in
    --quick) DURATION=10 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
  esac
done
PLATFORM_TOKEN="bench-platform-admin-token-0000000000000"
HERE="$ROOT/bench/sse"

[[ "$(nproc)" -ge 2 ]] || die "needs 2 CPUs: the server is pinned to CPU 0 and the clients to CPU 1"
for tool in cmake ninja curl taskset timeout python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs the build tools)"
done
BUILD="$ROOT/build/bench-sse"
RESULTS="$BUILD/sse-results.json"
log "building Release into build/bench-sse"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCELLFLEET_BUILD_TESTS=OFF \
  -DCELLFLEET_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j2 --target cellfleet >/dev/null
CELLFLEET="$BUILD/cellfleet"
WORK="$(mktemp -d -t cellfleet-bench-sse.XXXXXX)"
LOAD_BEFORE=$(load_average)
RUN_STARTED=$SECONDS

ROWS=()
# measure NAME SETTLE_MS: a fresh server and organization, CLIENTS streams, RATE events/s.
measure() {
  local name=$1 settle=$2 port base key before after line pid
  local data="$WORK/data-$name"
  mkdir -p "$data"
  port=$(free_port)
  base="http://127.0.0.1:$port"
  log "$name: cellfleet serve (CPU 0), $CLIENTS streams, $RATE events/s for ${DURATION} s"
  env CELLFLEET_PLATFORM_ADMIN_TOKEN="$PLATFORM_TOKEN" CELLFLEET_LOG_LEVEL=warn \
    CELLFLEET_EVENTS_STREAM_MAX_PER_ORG=$((CLIENTS + 10)) CELLFLEET_EVENTS_STREAM_SETTLE_MS="$settle" \
    taskset -c 0 "$CELLFLEET" serve --listen "127.0.0.1:$port" --data-dir "$data" \
    >>"$WORK/cellfleet-$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_ready "$pid" "$base/healthz" "$WORK/cellfleet-$name.log"
  key=$(curl -fsS --max-time 10 -X POST "$base/v1/platform/organizations" \
    -H "Authorization: Bearer $PLATFORM_TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"Bench","slug":"bench","currency":"KES","time_zone":"Africa/Nairobi","owner_email":"owner@bench.example"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
  before=$(cpu_ticks "$pid")
  line=$(timeout -k 5 $((DURATION + 60)) taskset -c 1 python3 "$HERE/sse_fanout.py" "$base" "$key" \
    "$CLIENTS" "$RATE" "$DURATION" | sed -n 's/^RESULT //p') || die "the fan-out client failed"
  [[ -n "$line" ]] || die "the fan-out client gave no result"
  after=$(cpu_ticks "$pid")
  ROWS+=("$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
r["scenario"] = sys.argv[2]
r["settle_ms"] = int(sys.argv[3])
r["server_cpu_seconds"] = round(int(sys.argv[4]) / int(sys.argv[5]), 2)
r["server_peak_rss_kb"] = int(sys.argv[6])
print(json.dumps(r))' "$line" "$name" "$settle" $((after - before)) "$TICKS_PER_SECOND" "$(peak_rss_kb "$pid")")")
  if grep -q '"level":"error"' "$WORK/cellfleet-$name.log"; then
    grep '"level":"error"' "$WORK/cellfleet-$name.log" | head -n 5 >&2
    die "the server logged errors"
  fi
  stop "$pid"
}

measure settle-200ms 200
measure settle-0 0

LOAD_AFTER=$(load_average)
RUN_SECONDS=$((SECONDS - RUN_STARTED))
DATE_UTC=$(date -u +%Y-%m-%dT%H:%M:%SZ)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "cellfleet SSE fan-out benchmark — $DATE_UTC, commit $COMMIT, $(nproc) CPUs ($CPU_MODEL)"
echo "server on CPU 0 (SQLite), $CLIENTS stream clients and the publisher on CPU 1; $RATE events/s for ${DURATION} s"
echo "load average before: $LOAD_BEFORE, after: $LOAD_AFTER; run took ${RUN_SECONDS} s after the build"
echo
python3 - "${ROWS[@]}" <<'PY'
import json, sys
rows = [json.loads(a) for a in sys.argv[1:]]
fmt = "%-13s %9s %9s %10s %10s %8s %8s %8s %8s %7s %7s %6s %7s %6s"
print(fmt % ("scenario", "published", "deliv/s", "per client", "min/client", "p50 ms", "p90 ms",
             "p99 ms", "max ms", "closed", "missed", "dups", "cpu s", "rss MB"))
for r in rows:
    l = r["latency_us"]
    print(fmt % (r["scenario"], r["published"], "%.0f" % r["delivered_per_s_total"],
                 "%.2f" % r["delivered_per_s_per_client"], r["delivered_per_client"]["min"],
                 "%.1f" % (l["p50"] / 1000), "%.1f" % (l["p90"] / 1000), "%.1f" % (l["p99"] / 1000),
                 "%.1f" % (l["max"] / 1000), r["dropped_connections"], r["missed_events"],
                 r["duplicates"] + r["out_of_order"], "%.1f" % r["server_cpu_seconds"],
                 r["server_peak_rss_kb"] // 1024))
PY
echo
echo "deliv/s: events received by all clients together over the publishing time plus catch-up;"
echo "  latency: receipt minus the event id's time (stamped just before the commit)."
{
  printf '{"benchmark":"sse","date":"%s","commit":"%s","cpus":%s,"cpu_model":"%s",' \
    "$DATE_UTC" "$COMMIT" "$(nproc)" "$CPU_MODEL"
  printf '"load_average_before":"%s","load_average_after":"%s","run_seconds":%s,' \
    "$LOAD_BEFORE" "$LOAD_AFTER" "$RUN_SECONDS"
  printf '"clients":%s,"rate_per_s":%s,"duration_s":%s,' "$CLIENTS" "$RATE" "$DURATION"
  printf '"rows":[%s]}\n' "$(IFS=,; echo "${ROWS[*]}")"
} >"$RESULTS"
echo "results: $RESULTS"
