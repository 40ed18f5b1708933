#!/usr/bin/env bash
# Installs, from Debian 12's packages, exactly what cellfleet needs to build, run and test.
# Idempotent: packages already present are skipped, and apt is not touched when nothing is missing.
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also the test tools (promtool, Java for DynamoDB Local, Node.js/npm,
#                                    Python 3 with PyYAML)
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates curl
  libboost1.81-dev libsqlite3-dev nlohmann-json3-dev libfmt-dev catch2
  libssl-dev libsodium-dev tzdata libhowardhinnant-date-dev zlib1g-dev libjemalloc-dev
)
if [[ "${1:-}" == "--test" ]]; then
  # python3-yaml: tests/deploy/ read the CloudFormation template.
  packages+=(prometheus openjdk-17-jre-headless wrk python3 python3-yaml)
  # Node.js and npm run the OpenAPI linter; a machine that already has them keeps its own.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
