#!/usr/bin/env bash
# Warehouse benchmark (issue #8): rows/s of `cellfleet warehouse export` per table and in total,
# for the SQLite sink and the files sink, over a store seeded with telemetry history older than
# the hot window, next to a ceiling measured in the same run (raw SQLite batched inserts of the
# same row shape: bench/warehouse/ceiling.cpp). Builds Release into build/bench-warehouse, pins
# the export to CPU 0, prints one table and writes build/bench-warehouse/warehouse-results.json.
# Loopback only; every process it starts is stopped on exit.
#
#   bench/warehouse/run.sh [--quick]   default: 2,000,000 readings over 400 packs (at most 3 min
#                                      of seeding) and 200 leases paid off through the API;
#                                      --quick: 200,000 readings (at most 30 s), 50 leases
#
# BENCH_BUILD=DIR uses an already configured build directory instead (its build type is then
# whatever it was configured with, and the report says so).
set -euo pipefail
BENCH_NAME=warehouse/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # ROOT, WORK, traps, helpers: see there

SEED_READINGS=2000000
SEED_BUDGET=180
CONTRACTS=200  # leases signed and paid off through the API: payments, installments, events
case "${1:-}" in
  "") ;;
  --quick) SEED_READINGS=200000; SEED_BUDGET=30; CONTRACTS=50 ;;
  -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

PACKS=400
SEED_INTERVAL_S=60
PLATFORM_TOKEN="bench-platform-admin-token-0000000000000"
RESULTS_DIR="$ROOT/build/bench-warehouse"
RESULTS="$RESULTS_DIR/warehouse-results.json"
mkdir -p "$RESULTS_DIR"

for tool in cmake ninja curl taskset timeout; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs the build tools)"
done
TARGETS=(cellfleet cellfleet_bench_telemetry cellfleet_bench_warehouse_ceiling)
if [[ -n "${BENCH_BUILD:-}" ]]; then
  BUILD="$(cd "$BENCH_BUILD" && pwd)"
  BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")"
  log "building in $BUILD (${BUILD_TYPE:-no build type})"
else
  BUILD="$RESULTS_DIR"
  BUILD_TYPE=Release
  log "building Release into build/bench-warehouse"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCELLFLEET_BUILD_TESTS=OFF \
    -DCELLFLEET_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$BUILD" -j2 --target "${TARGETS[@]}" >/dev/null
CELLFLEET="$BUILD/cellfleet"
SEEDER="$BUILD/bench/telemetry/cellfleet_bench_telemetry"
CEILING="$BUILD/bench/warehouse/cellfleet_bench_warehouse_ceiling"

WORK="$(mktemp -d -t cellfleet-bench-warehouse.XXXXXX)"
DATA="$WORK/data"
LOAD_BEFORE=$(load_average)
RUN_STARTED=$SECONDS
NOW_MS=$(($(date +%s) * 1000))
HOUR_MS=3600000
SEED_END_MS=$((NOW_MS - 49 * HOUR_MS))  # all of it older than the 48-hour hot window

# --- an organization and its packs, through the API -------------------------------------------------
port=$(free_port)
BASE="http://127.0.0.1:$port"
env CELLFLEET_PLATFORM_ADMIN_TOKEN="$PLATFORM_TOKEN" CELLFLEET_LOG_LEVEL=warn \
  CELLFLEET_WAREHOUSE_INTERVAL_SECONDS=0 \
  "$CELLFLEET" serve --listen "127.0.0.1:$port" --data-dir "$DATA" >>"$WORK/cellfleet.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_ready "$SERVER_PID" "$BASE/healthz" "$WORK/cellfleet.log"
created=$(curl -sS --max-time 10 -X POST "$BASE/v1/platform/organizations" \
  -H "Authorization: Bearer $PLATFORM_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"Bench","slug":"bench","currency":"KES","time_zone":"Africa/Nairobi","owner_email":"owner@bench.example"}')
API_KEY=$(sed -n 's/.*"api_key" *: *"\([^"]*\)".*/\1/p' <<<"$created")
[[ -n "$API_KEY" ]] || die "creating the organization failed: $created"
ORG_ID=$(curl -sS --fail-with-body -H "Authorization: Bearer $API_KEY" "$BASE/v1/organization" |
  sed -n 's/.*"id" *: *"\(org_[^"]*\)".*/\1/p')
[[ -n "$ORG_ID" ]] || die "GET /v1/organization named no org_ id"
seq 1 "$PACKS" | awk 'BEGIN { printf "[" } NR > 1 { printf "," }
  { printf "{\"serial\":\"WH-%06d\",\"model\":\"E-%d\",\"chemistry\":\"LFP\",\"capacity_wh\":2000,\"nominal_voltage_mv\":48000}", $1, 48 + ($1 % 3) * 12 }
  END { printf "]" }' >"$WORK/import.json"
curl -sS --fail-with-body --max-time 120 -X POST "$BASE/v1/devices:import" \
  -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' --data-binary "@$WORK/import.json" |
  grep -o '"id" *: *"dev_[^"]*"' | sed 's/.*"\(dev_[^"]*\)"$/\1/' >"$WORK/packs.txt"
[[ "$(wc -l <"$WORK/packs.txt")" -eq "$PACKS" ]] || die "the import returned $(wc -l <"$WORK/packs.txt") ids, not $PACKS"

# Leases on the first packs, each paid off in two payments (deposit, then the rest).
post() {  # post PATH JSON: the body on stdout; fails on a non-2xx answer
  curl -sS --fail-with-body --max-time 60 -X POST "$BASE$1" -H "Authorization: Bearer $API_KEY" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: bench-$RANDOM-$RANDOM-$RANDOM" -d "$2"
}
field_id() { grep -o '"id" *: *"[a-z]*_[^"]*"' | head -n 1 | sed 's/.*"\([a-z]*_[^"]*\)"$/\1/'; }
log "signing and paying off $CONTRACTS leases through the API"
PRODUCT=$(post /v1/products '{"name":"Lease","kind":"lease_to_own","terms":{"cash_price":100000,"deposit":20000,"installments":4,"frequency":"monthly","interest_method":"flat","annual_rate_bp":0,"grace_period_days":3}}' | field_id)
[[ -n "$PRODUCT" ]] || die "creating the product failed"
contracts_started=$SECONDS
for i in $(seq 1 "$CONTRACTS"); do
  pack=$(sed -n "${i}p" "$WORK/packs.txt")
  post "/v1/devices/$pack/transitions" '{"to":"in_stock","reason":"received"}' >/dev/null
  customer=$(post /v1/customers "$(printf '{"name":"Customer %d","phone":"+2547%08d"}' "$i" "$i")" | field_id)
  contract=$(post /v1/contracts "{\"customer_id\":\"$customer\",\"device_id\":\"$pack\",\"product_id\":\"$PRODUCT\"}" | field_id)
  [[ "$contract" == con_* ]] || die "signing contract $i failed"
  post /v1/payments "{\"contract_id\":\"$contract\",\"amount\":20000,\"currency\":\"KES\",\"method\":\"cash\"}" >/dev/null
  # The rest once the deposit is applied (the loan module applies payments asynchronously).
  for _ in $(seq 100); do
    curl -sS -H "Authorization: Bearer $API_KEY" "$BASE/v1/contracts/$contract" | grep -q '"state" *: *"active"' && break
    sleep 0.05
  done
  post /v1/payments "{\"contract_id\":\"$contract\",\"amount\":80000,\"currency\":\"KES\",\"method\":\"cash\"}" >/dev/null
done
sleep 2  # let the event chain (allocation, closure, access, invoices) finish
log "  $CONTRACTS leases in $((SECONDS - contracts_started)) s"
stop "$SERVER_PID"

# --- history, straight into the stopped server's store (bench/telemetry's seeder) -------------------
log "seeding up to $SEED_READINGS readings into $PACKS packs (at most $SEED_BUDGET s)"
timeout -k 5 $((SEED_BUDGET + 120)) "$SEEDER" seed --database "$DATA/cellfleet.db" --org "$ORG_ID" \
  --devices "$WORK/packs.txt" --readings "$SEED_READINGS" --interval-seconds "$SEED_INTERVAL_S" \
  --end-ms "$SEED_END_MS" --budget-seconds "$SEED_BUDGET" >"$WORK/seed.txt"
SEED_LINE=$(grep '^SEED ' "$WORK/seed.txt") || die "no SEED line from the seeder"
SEEDED=$(tr ' ' '\n' <<<"$SEED_LINE" | sed -n 's/^readings=//p')
log "  $SEEDED readings"

# --- the exports -----------------------------------------------------------------------------------
# export_run NAME ARGS...: one `cellfleet warehouse export` on CPU 0; its table in $WORK/NAME.txt.
export_run() {
  local name=$1
  shift
  log "export: $name"
  timeout -k 5 1800 taskset -c 0 env CELLFLEET_LOG_LEVEL=warn CELLFLEET_WAREHOUSE_SETTLE_SECONDS=0 \
    "$CELLFLEET" warehouse export --data-dir "$DATA" "$@" >"$WORK/$name.txt" 2>&1 ||
    { cat "$WORK/$name.txt" >&2; die "warehouse export ($name) failed"; }
}
export_run sqlite --sink sqlite --out "$WORK/warehouse.db"
export_run files --sink files --out "$WORK/files"
export_run sqlite-again --sink sqlite --out "$WORK/warehouse.db"

log "ceiling: raw SQLite batched insert of $SEEDED rows (CPU 0)"
timeout -k 5 1800 taskset -c 0 "$CEILING" --file "$WORK/ceiling.db" --rows "$SEEDED" >"$WORK/ceiling.txt"
CEILING_LINE=$(grep '^CEILING ' "$WORK/ceiling.txt") || die "no CEILING line"
CEILING_RPS=$(tr ' ' '\n' <<<"$CEILING_LINE" | sed -n 's/^rows_per_second=//p')
LOAD_AFTER=$(load_average)

# column NAME TABLE FIELD: rows (2), seconds (3) or rows/s (4) of TABLE in export NAME's table.
column() { awk -v t="$2" -v f="$3" '$1 == t || ($1 " " $2 == t) { print (t == "facts total" ? $(f + 1) : $f) }' "$WORK/$1.txt"; }

FORMAT="%-18s %12s %10s %12s %12s %10s\n"
# shellcheck disable=SC2059
printf "$FORMAT" table "sqlite rows" seconds "sqlite r/s" "files r/s" "vs raw"
JSON_TABLES=()
for t in fact_telemetry fact_payment fact_installment fact_event dim_device dim_customer dim_product "facts total"; do
  rows=$(column sqlite "$t" 2)
  sec=$(column sqlite "$t" 3)
  rps=$(column sqlite "$t" 4)
  frps=$(column files "$t" 4)
  vs=$(awk -v a="$rps" -v b="$CEILING_RPS" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "-" }')
  # shellcheck disable=SC2059
  printf "$FORMAT" "$t" "$rows" "$sec" "$rps" "$frps" "$vs"
  JSON_TABLES+=("$(printf '{"table":"%s","rows":%s,"sqlite_seconds":%s,"sqlite_rows_per_sec":%s,"files_rows_per_sec":%s}' \
    "$t" "${rows:-0}" "${sec:-0}" "${rps:-0}" "${frps:-0}")")
done
# shellcheck disable=SC2059
printf "$FORMAT" "raw SQLite insert" "$SEEDED" "$(tr ' ' '\n' <<<"$CEILING_LINE" | sed -n 's/^seconds=//p')" "$CEILING_RPS" - "100.0%"
AGAIN=$(column sqlite-again "facts total" 2)
echo "second export of the same store: $AGAIN fact rows (idempotent: 0 expected)"
echo "build: ${BUILD_TYPE:-unknown}; export and ceiling pinned to CPU 0; load average before $LOAD_BEFORE, after $LOAD_AFTER"
echo "seeded: $SEED_LINE"
RUN_SECONDS=$((SECONDS - RUN_STARTED))
{
  printf '{"benchmark":"warehouse","date":"%s","commit":"%s","build_type":"%s","cpus":%s,' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(git -C "$ROOT" rev-parse --short HEAD)" "${BUILD_TYPE:-unknown}" "$(nproc)"
  printf '"load_average_before":"%s","load_average_after":"%s","run_seconds":%s,' \
    "$LOAD_BEFORE" "$LOAD_AFTER" "$RUN_SECONDS"
  printf '"seeded_readings":%s,"packs":%s,"leases_paid_off":%s,"ceiling_raw_sqlite_rows_per_sec":%s,"second_export_fact_rows":%s,' \
    "$SEEDED" "$PACKS" "$CONTRACTS" "$CEILING_RPS" "${AGAIN:-null}"
  printf '"tables":[%s]}\n' "$(IFS=,; echo "${JSON_TABLES[*]}")"
} >"$RESULTS"
echo "written: ${RESULTS#"$ROOT"/}"
