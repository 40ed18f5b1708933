#!/usr/bin/env bash
# Installs what cellfleet needs from Debian 12's packages, builds it (Release) and runs the server
# on the embedded default: SQLite in ./data/cellfleet.db, listening on 127.0.0.1:8080.
# Extra arguments go to `cellfleet serve` (e.g. --listen 0.0.0.0:8080). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCELLFLEET_BUILD_TESTS=OFF -DCELLFLEET_BUILD_BENCH=OFF >/dev/null
cmake --build build/release -j "$jobs"
exec build/release/cellfleet serve --config config/cellfleet.toml "$@"
