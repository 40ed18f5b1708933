#!/usr/bin/env bash
# HTTP throughput of cellfleet against a ceiling measured in the same run: a bare Boost.Beast
# keep-alive endpoint (bench/bare_beast.cpp). Builds Release into build/bench-http, starts each server
# pinned to CPU 0, drives it with wrk pinned to CPU 1, prints one table and writes
# build/bench-http/http-results.json. Loopback only; every process it starts is stopped on exit.
#
#   bench/http.sh [--quick]      --quick: 5 s per scenario instead of 15 s
#
# See bench/README.md for what each row means.
set -euo pipefail
BENCH_NAME=http.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # ROOT, WORK, traps, helpers: see there

DURATION=15
case "${1:-}" in
  "") ;;
  --quick) DURATION=5 ;;
  -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

BUILD="$ROOT/build/bench-http"
RESULTS="$BUILD/http-results.json"
# A test credential for a throw-away data directory, 40 characters (the server wants >= 32).
PLATFORM_TOKEN="bench-platform-admin-token-0000000000000"

check_prerequisites

log "building Release into build/bench-http"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCELLFLEET_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target cellfleet cellfleet_bench_bare_beast >/dev/null
CELLFLEET="$BUILD/cellfleet"
BARE_BEAST="$BUILD/bench/cellfleet_bench_bare_beast"

WORK="$(mktemp -d -t cellfleet-bench.XXXXXX)"
LOAD_BEFORE=$(load_average)

# --- measuring -----------------------------------------------------------------------------------
# One row per scenario: name|path|req/s|p50|p90|p99|max|non-2xx|socket errors|server CPU seconds
# (latencies in µs).
ROWS=()

# measure SERVER_PID NAME URL [wrk args...]: warm up, measure, append a row.
measure() {
  local server=$1 name=$2 url=$3 out before after line
  shift 3
  out="$BUILD/wrk-${name//[^A-Za-z0-9]/_}.txt"
  log "  $name: $url (${DURATION} s)"
  run_wrk "$WARMUP" /dev/null "$ROOT/bench/wrk_report.lua" "$url" "$@"
  before=$(cpu_ticks "$server")
  run_wrk "$DURATION" "$out" "$ROOT/bench/wrk_report.lua" "$url" "$@"
  after=$(cpu_ticks "$server")
  line=$(grep '^BENCH ' "$out") || die "no summary in $out"
  ROWS+=("$(awk -v name="$name" -v path="${url#http://127.0.0.1:*/}" \
      -v cpu="$((after - before))" -v hz="$TICKS_PER_SECOND" '{
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      printf "%s|/%s|%.0f|%d|%d|%d|%d|%d|%d|%.2f\n", name, path,
             v["requests"] * 1e6 / v["duration_us"], v["p50_us"], v["p90_us"], v["p99_us"],
             v["max_us"], v["status"], v["connect"] + v["read"] + v["write"] + v["timeout"],
             cpu / hz
    }' <<<"$line")")
}

# measure_ceiling NAME: the bare Beast endpoint on CPU 0.
measure_ceiling() {
  local port pid
  log "$1: bare Beast endpoint (CPU 0)"
  port=$(free_port)
  taskset -c 0 "$BARE_BEAST" "$port" >"$WORK/bare_beast.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_ready "$pid" "http://127.0.0.1:$port/" "$WORK/bare_beast.log"
  measure "$pid" "$1" "http://127.0.0.1:$port/"
  stop "$pid"
}

measure_ceiling "ceiling"

API_KEY=""
for LEVEL in warn info; do
  log "cellfleet serve, log level $LEVEL (CPU 0)"
  PORT=$(free_port)
  BASE="http://127.0.0.1:$PORT"
  # The access log goes to a file, as it would in production, not to a pipe we would drain.
  env CELLFLEET_PLATFORM_ADMIN_TOKEN="$PLATFORM_TOKEN" CELLFLEET_LOG_LEVEL="$LEVEL" \
    taskset -c 0 "$CELLFLEET" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
    >"$WORK/cellfleet-$LEVEL.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_ready "$SERVER_PID" "$BASE/healthz" "$WORK/cellfleet-$LEVEL.log"
  if [[ -z "$API_KEY" ]]; then  # the data directory outlives the first server
    created=$(curl -sS --max-time 10 -X POST "$BASE/v1/platform/organizations" \
      -H "Authorization: Bearer $PLATFORM_TOKEN" -H 'Content-Type: application/json' \
      -d '{"name":"Bench","slug":"bench","currency":"KES","time_zone":"Africa/Nairobi","owner_email":"owner@bench.example"}')
    API_KEY=$(sed -n 's/.*"api_key" *: *"\([^"]*\)".*/\1/p' <<<"$created")
    [[ -n "$API_KEY" ]] || die "creating the organization failed: $created"
  fi
  AUTH=(-H "Authorization: Bearer $API_KEY")
  expect_200 "$BASE/healthz"
  expect_200 "$BASE/v1/auth/me" "${AUTH[@]}"
  expect_200 "$BASE/v1/organization" "${AUTH[@]}"
  measure "$SERVER_PID" "healthz log=$LEVEL" "$BASE/healthz"
  measure "$SERVER_PID" "auth/me log=$LEVEL" "$BASE/v1/auth/me" "${AUTH[@]}"
  measure "$SERVER_PID" "organization log=$LEVEL" "$BASE/v1/organization" "${AUTH[@]}"
  stop "$SERVER_PID"
done
# The ceiling once more: how far it moved during the run is the noise the ratios carry.
measure_ceiling "ceiling again"

# --- report --------------------------------------------------------------------------------------
LOAD_AFTER=$(load_average)
field() { cut -d'|' -f"$2" <<<"$1"; }
row_of() { local r; for r in "${ROWS[@]}"; do if [[ "${r%%|*}" == "$1" ]]; then echo "$r"; fi; done; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
per_cpu() { awk -v r="$1" -v s="$2" -v c="$3" 'BEGIN { printf "%.0f", (c > 0 ? r * s / c : 0) }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
pct() { awk -v r="$1" 'BEGIN { printf "%.1f%%", r * 100 }'; }

CEILING_RPS=$(field "${ROWS[0]}" 3)
CEILING_PER_CPU=$(per_cpu "$CEILING_RPS" "$DURATION" "$(field "${ROWS[0]}" 10)")
DATE_UTC=$(date -u +%Y-%m-%dT%H:%M:%SZ)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=""
[[ -z "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]] || DIRTY="+dirty"
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

echo
echo "cellfleet HTTP benchmark — $DATE_UTC, commit $COMMIT$DIRTY, $(nproc) CPUs ($CPU_MODEL)"
echo "server on CPU 0, wrk on CPU 1: -t1 -c$CONNECTIONS, ${DURATION} s per scenario, keep-alive, 127.0.0.1"
echo "load average before: $LOAD_BEFORE, after: $LOAD_AFTER (other processes share both CPUs)"
echo
FORMAT='%-22s %-17s %8s %7s %7s %7s %7s %9s %8s %5s %10s %8s\n'
# shellcheck disable=SC2059  # the format is ours, shared by header and rows
printf "$FORMAT" scenario path "req/s" "p50 ms" "p90 ms" "p99 ms" "max ms" "n2xx/sock" \
  "ceiling" "cpu" "req/cpu-s" "ceil/cpu"
printf '%s\n' "$(printf '%.0s-' $(seq 124))"
JSON_ROWS=()
for row in "${ROWS[@]}"; do
  IFS='|' read -r name path rps p50 p90 p99 max non2xx sockerr cpu <<<"$row"
  r=$(ratio "$rps" "$CEILING_RPS")
  per=$(per_cpu "$rps" "$DURATION" "$cpu")
  rc=$(ratio "$per" "$CEILING_PER_CPU")
  share=$(awk -v c="$cpu" -v d="$DURATION" 'BEGIN { printf "%.0f%%", c / d * 100 }')
  # shellcheck disable=SC2059
  printf "$FORMAT" "$name" "$path" "$rps" "$(ms "$p50")" "$(ms "$p90")" "$(ms "$p99")" \
    "$(ms "$max")" "$non2xx/$sockerr" "$(pct "$r")" "$share" "$per" "$(pct "$rc")"
  JSON_ROWS+=("$(printf '{"scenario":"%s","path":"%s","requests_per_sec":%s,"latency_us":{"p50":%s,"p90":%s,"p99":%s,"max":%s},"non_2xx":%s,"socket_errors":%s,"ratio_to_ceiling":%s,"server_cpu_seconds":%s,"requests_per_cpu_second":%s,"ratio_to_ceiling_per_cpu_second":%s}' \
    "$name" "$path" "$rps" "$p50" "$p90" "$p99" "$max" "$non2xx" "$sockerr" "$r" "$cpu" "$per" "$rc")")
done
echo
AUTH_JSON=()
for LEVEL in warn info; do
  authed=$(row_of "auth/me log=$LEVEL")
  open=$(row_of "healthz log=$LEVEL")
  r=$(ratio "$(field "$authed" 3)" "$(field "$open" 3)")
  rc=$(ratio "$(per_cpu "$(field "$authed" 3)" "$DURATION" "$(field "$authed" 10)")" \
    "$(per_cpu "$(field "$open" 3)" "$DURATION" "$(field "$open" 10)")")
  echo "authenticated / unauthenticated (GET /v1/auth/me vs GET /healthz), log=$LEVEL:" \
    "$r in req/s, $rc in req/cpu-s"
  AUTH_JSON+=("\"$LEVEL\":{\"requests_per_sec\":$r,\"requests_per_cpu_second\":$rc}")
done

{
  printf '{"benchmark":"http","date":"%s","commit":"%s%s","cpus":%s,"cpu_model":"%s",' \
    "$DATE_UTC" "$COMMIT" "$DIRTY" "$(nproc)" "$CPU_MODEL"
  printf '"load_average_before":"%s","load_average_after":"%s",' "$LOAD_BEFORE" "$LOAD_AFTER"
  printf '"wrk":{"threads":1,"connections":%s,"duration_s":%s,"server_cpu":0,"wrk_cpu":1},' \
    "$CONNECTIONS" "$DURATION"
  printf '"ceiling_requests_per_sec":%s,"ceiling_requests_per_cpu_second":%s,"rows":[%s],' \
    "$CEILING_RPS" "$CEILING_PER_CPU" "$(IFS=,; echo "${JSON_ROWS[*]}")"
  printf '"auth_over_unauth_ratio":{%s}}\n' "$(IFS=,; echo "${AUTH_JSON[*]}")"
} >"$RESULTS"
echo "written: ${RESULTS#"$ROOT"/} (raw wrk output: build/bench-http/wrk-*.txt)"
