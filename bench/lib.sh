# What the wrk benchmarks' scripts share (bench/http.sh, bench/telemetry/run.sh): stopping every
# process they started however they end, free loopback ports, waiting for a server, one bounded
# wrk run pinned to CPU 1, and the server's CPU time and peak memory. Sourced, not run:
#
#   BENCH_NAME=http.sh; source "$ROOT/bench/lib.sh"
#
# It sets `set -euo pipefail`, the EXIT/INT/TERM traps, ROOT (the repository) and WORK (empty until
# the script makes a scratch directory; removed on exit).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-1}  # seconds of unmeasured load before each scenario: first-touch costs are not throughput

log() { printf '%s\n' "$*" >&2; }
die() { log "${BENCH_NAME:-bench}: $*"; exit 1; }

# --- processes we started, stopped on any exit ----------------------------------------------------
PIDS=()
WORK=""
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  if [[ -n "$WORK" ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget() {  # the process has ended: nothing left to stop
  local p kept=()
  for p in "${PIDS[@]}"; do [[ "$p" == "$1" ]] || kept+=("$p"); done
  PIDS=(${kept[@]+"${kept[@]}"})
}
stop() {  # SIGTERM (cellfleet drains), then SIGKILL after 10 s
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}

# --- prerequisites ---------------------------------------------------------------------------------
# Two CPUs (server on 0, wrk on 1), the build tools, curl, and wrk (installed with apt-get when
# missing).
check_prerequisites() {
  local tool SUDO=""
  [[ "$(nproc)" -ge 2 ]] || die "needs 2 CPUs: the server is pinned to CPU 0 and wrk to CPU 1"
  for tool in cmake ninja curl taskset timeout; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs the build tools)"
  done
  if ! command -v wrk >/dev/null; then
    log "installing wrk"
    [[ "$(id -u)" -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get install -y wrk >/dev/null 2>&1 ||
      { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
  fi
}

# A port outside Linux's ephemeral range (32768-60999) that nothing answers on right now.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  die "found no free loopback port"
}

# wait_ready PID URL LOGFILE: up to 10 s for URL to answer 200 while PID lives.
wait_ready() {
  local pid=$1 url=$2 logfile=$3
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$logfile" >&2; die "server exited at start-up"; }
    if curl -fsS --max-time 1 -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  tail -n 20 "$logfile" >&2
  die "$url did not answer within 10 s"
}

# start_cellfleet [VAR=VALUE...]: `cellfleet serve` ($CELLFLEET) on CPU 0 with its data in $DATA,
# the access log off, $PLATFORM_TOKEN as the platform token and the given variables (which win over
# these defaults), on a free port; sets SERVER_PID and BASE and returns once /readyz answers 200.
# A stop drains for at most a second: what a run leaves queued is dropped rather than finished.
# The warehouse's scheduled export is off: serve runs one at every start, and after a large import
# it copies hundreds of thousands of events on the server's core for tens of seconds, in the middle
# of whichever scenario follows a restart (bench/warehouse/run.sh measures the export itself).
start_cellfleet() {
  local port
  port=$(free_port)
  BASE="http://127.0.0.1:$port"
  env CELLFLEET_PLATFORM_ADMIN_TOKEN="$PLATFORM_TOKEN" CELLFLEET_LOG_LEVEL=warn \
    CELLFLEET_SERVER_DRAIN_TIMEOUT_MS=1000 CELLFLEET_WAREHOUSE_INTERVAL_SECONDS=0 "$@" \
    taskset -c 0 "$CELLFLEET" serve --listen "127.0.0.1:$port" --data-dir "$DATA" \
    >>"$WORK/cellfleet.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_ready "$SERVER_PID" "$BASE/readyz" "$WORK/cellfleet.log"
}

# expect_200 URL [curl args...]: the scenario must succeed before it is measured.
expect_200() {
  local url=$1 code
  shift
  code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$@" "$url") || code=000
  [[ "$code" == 200 ]] || die "GET $url answered $code, not 200: nothing to measure"
}

# --- measuring -----------------------------------------------------------------------------------
# Other processes share these CPUs, so beside throughput the scripts record the CPU time the server
# itself spent: requests per CPU-second is what contention disturbs least.
TICKS_PER_SECOND=$(getconf CLK_TCK)

cpu_ticks() {  # user + system time of process $1 so far, all threads (fields 14, 15 of stat)
  sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

peak_rss_kb() {  # the largest resident set process $1 has had so far (VmHWM), in KiB
  awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

load_average() { cut -d' ' -f1-3 /proc/loadavg; }

# start_wrk SECONDS OUTFILE SCRIPT URL [wrk args...] [-- script args...]: one bounded wrk run on
# CPU 1 (-t1 -c$CONNECTIONS --latency) started in the background; its pid is in WRK_PID (and in
# PIDS). Several may run at once (bench/run.sh's mixed scenario); finish each with finish_wrk.
WRK_PID=""
start_wrk() {
  local seconds=$1 out=$2 script=$3 url=$4
  shift 4
  timeout -k 5 $((seconds + 30)) taskset -c 1 \
    wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" --latency -s "$script" "$url" "$@" \
    >"$out" 2>&1 &
  WRK_PID=$!
  PIDS+=("$WRK_PID")
}

# finish_wrk PID OUTFILE: waits for a start_wrk run; dies with its output if it failed.
finish_wrk() {
  wait "$1" || { cat "$2" >&2; die "wrk failed (output: $2)"; }
  forget "$1"
}

# run_wrk SECONDS OUTFILE SCRIPT URL [wrk args...] [-- script args...]: one bounded wrk run on
# CPU 1 (-t1 -c$CONNECTIONS --latency), in the background so that an interrupt reaches the trap at
# once. SCRIPT must print bench/wrk_report.lua's BENCH line (or be that file).
run_wrk() {
  start_wrk "$@"
  finish_wrk "$WRK_PID" "$2"
}

# run_bounded SECONDS OUTFILE COMMAND...: any other helper (python clients, the store tool), in the
# background under timeout so that an interrupt reaches the trap at once; dies if it fails.
run_bounded() {
  local seconds=$1 out=$2 pid
  shift 2
  timeout -k 5 "$seconds" "$@" >"$out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || { tail -n 20 "$out" >&2; die "$1 failed or ran out of its $seconds s (output: $out)"; }
  forget "$pid"
}

# reset_peak_rss PID: starts VmHWM afresh (Linux clear_refs "5"), so peak_rss_kb tells one
# scenario's peak rather than the process's whole life. Best effort: older kernels refuse it.
reset_peak_rss() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }

# --- the API ---------------------------------------------------------------------------------------
# create_org BASE PLATFORM_TOKEN SLUG: a new organization (currency KES); prints its API key.
create_org() {
  local created key
  created=$(curl -sS --max-time 10 -X POST "$1/v1/platform/organizations" \
    -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
    -d "{\"name\":\"Bench $3\",\"slug\":\"$3\",\"currency\":\"KES\",\"time_zone\":\"Africa/Nairobi\",\"owner_email\":\"owner@$3.example\"}")
  key=$(sed -n 's/.*"api_key" *: *"\([^"]*\)".*/\1/p' <<<"$created")
  [[ -n "$key" ]] || die "creating the organization $3 failed: $created"
  echo "$key"
}

# import_packs BASE API_KEY FIRST LAST PREFIX IDS_FILE: registers packs PREFIX-<FIRST>..PREFIX-<LAST>
# (48 V LFP, 2 kWh) with POST /v1/devices:import, 5,000 a request (its maximum), and appends their
# ids to IDS_FILE. Every fourth pack stays "registered", the others are "in_stock", so a state
# filter has something to tell apart.
import_packs() {
  local base=$1 key=$2 from=$3 to=$4 prefix=$5 ids=$6 first last body="$WORK/import-$5.json"
  for ((first = from; first <= to; first += 5000)); do
    last=$((first + 4999 < to ? first + 4999 : to))
    seq "$first" "$last" | awk -v p="$prefix" 'BEGIN { printf "[" } NR > 1 { printf "," }
      { printf "{\"serial\":\"%s-%06d\",\"model\":\"E-48\",\"chemistry\":\"LFP\",\"capacity_wh\":2000,\"nominal_voltage_mv\":48000,\"state\":\"%s\"}", p, $1, ($1 % 4 == 0 ? "registered" : "in_stock") }
      END { printf "]" }' >"$body"
    curl -sS --fail-with-body --max-time 300 -X POST "$base/v1/devices:import" \
      -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary "@$body" |
      grep -o '"id" *: *"dev_[^"]*"' | sed 's/.*"\(dev_[^"]*\)"$/\1/' >>"$ids" ||
      die "importing packs $prefix-$first..$last failed"
  done
}

# outbox_pending: events not yet delivered, from the server's metrics (the server at $BASE).
outbox_pending() {
  curl -sS --max-time 5 "$BASE/metrics" | awk '/^events_outbox_pending / { print $2; found = 1 }
    END { if (!found) print 0 }'
}

# events_delivered: the deliveries the server at $BASE has counted since it started (all
# subscribers, from its metrics).
events_delivered() {
  curl -sS --max-time 5 "$BASE/metrics" | awk '/^events_delivered_total/ { n += $2 } END { print n + 0 }'
}

# wait_drained [BUDGET]: seconds (decimal) until every event is delivered, at most BUDGET seconds
# (300 by default): nothing pending and no delivery counted for a second (that second is not
# counted in the answer). The pending gauge alone is not enough: the dispatcher sets it at the end
# of a pass over the outbox, and a pass over a backlog of thousands of events takes long, so it
# reads 0 while they wait.
wait_drained() {
  local budget=${1:-300} started now last quiet=0 pending
  started=$(date +%s%N)
  last=$(events_delivered)
  while (($(date +%s%N) - started < budget * 1000000000)); do
    sleep 0.25
    now=$(events_delivered)
    pending=$(outbox_pending)
    if [[ "$now" == "$last" && "${pending%.*}" -le 0 ]]; then
      quiet=$((quiet + 1))
      ((quiet < 4)) || break
    else
      quiet=0
    fi
    last=$now
  done
  awk -v ns=$(($(date +%s%N) - started)) -v q="$quiet" 'BEGIN { t = ns / 1e9 - q * 0.25; printf "%.2f", (t > 0 ? t : 0) }'
}

# bench_value FILE KEY: KEY's value on the "BENCH ..." (or "BENCH_STATUS ...") lines of FILE.
bench_value() {
  grep '^BENCH' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
