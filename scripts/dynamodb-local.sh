#!/usr/bin/env bash
# Starts and stops DynamoDB Local (installed by scripts/install-test-tools.sh) on a free loopback
# port, in memory, for the store contract tests and for trying the DynamoDB backend by hand.
#   scripts/dynamodb-local.sh start   prints the endpoint, e.g. http://127.0.0.1:41234
#   scripts/dynamodb-local.sh stop
# The PID and the endpoint are kept in tools/dynamodb-local.pid and tools/dynamodb-local.endpoint,
# its output in tools/dynamodb-local.log. `start` while it runs prints the running endpoint.
#   export CELLFLEET_TEST_DYNAMODB_ENDPOINT="$(scripts/dynamodb-local.sh start)"
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$repo/tools"
emulator="$tools/dynamodb-local"
pid_file="$tools/dynamodb-local.pid"
endpoint_file="$tools/dynamodb-local.endpoint"
log_file="$tools/dynamodb-local.log"

running_pid() {
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid="$(cat "$pid_file")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Asks the kernel for a free port by binding port 0. Another process could take it before Java
# binds it; start() then fails to get an answer and says so rather than talking to a stranger.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# DynamoDB Local answers any well-formed request, even with made-up credentials, as long as the
# Authorization header has the SigV4 shape. An HTTP status of 200 to ListTables means it is ready.
answers() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST "$1" \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}' 2>/dev/null | grep -q '^200$'
}

start() {
  # Reuse a running emulator only if it still answers: a PID can outlive its process as a zombie,
  # or be reused by another program.
  if pid="$(running_pid)" && [[ -f "$endpoint_file" ]] && answers "$(cat "$endpoint_file")"; then
    cat "$endpoint_file"
    return 0
  fi
  rm -f "$pid_file" "$endpoint_file"
  if [[ ! -f "$emulator/DynamoDBLocal.jar" ]]; then
    echo "dynamodb-local: $emulator/DynamoDBLocal.jar is missing; run scripts/install-test-tools.sh" >&2
    return 1
  fi
  local port endpoint
  port="$(free_port)"
  endpoint="http://127.0.0.1:$port"
  # The library path lets the emulator find its native SQLite. -disableTelemetry because telemetry
  # would try to reach AWS from a test run. This emulator version has no option to choose the
  # listening address (older ones had -host): it listens on every interface, on a random port, with
  # an in-memory database; clients use the loopback endpoint printed here.
  (
    cd "$emulator"
    exec java -Djava.library.path=DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      -inMemory -disableTelemetry -port "$port" </dev/null >"$log_file" 2>&1
  ) &
  local pid=$!
  echo "$pid" >"$pid_file"
  echo "$endpoint" >"$endpoint_file"
  for _ in $(seq 1 120); do
    if answers "$endpoint"; then
      echo "$endpoint"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "dynamodb-local: exited during start-up; see $log_file" >&2
      rm -f "$pid_file" "$endpoint_file"
      return 1
    fi
    sleep 0.25
  done
  echo "dynamodb-local: no answer on $endpoint after 30 s; see $log_file" >&2
  stop
  return 1
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    kill "$pid"
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pid_file" "$endpoint_file"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
