#!/usr/bin/env bash
# Lints docs/openapi.json with Redocly CLI (installed into tools/ by scripts/install-test-tools.sh).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
redocly="$repo/tools/node_modules/.bin/redocly"
if [[ ! -x "$redocly" ]]; then
  echo "lint-openapi: $redocly is missing; run scripts/install-test-tools.sh" >&2
  exit 1
fi
cd "$repo"
# No usage telemetry and no update check: tests and CI talk to nothing but loopback.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
node_bin=node
[[ -x "$repo/tools/node22/node_modules/.bin/node" ]] && node_bin="$repo/tools/node22/node_modules/.bin/node"
"$node_bin" "$repo/tools/node_modules/@redocly/cli/bin/cli.js" lint --config redocly.yaml docs/openapi.json
