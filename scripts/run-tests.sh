#!/usr/bin/env bash
# Runs every test with node:test: unit tests beside the code (compiled to each workspace's
# dist/), the shim's tests, and the cross-component end-to-end tests in test/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "run-tests: the end-to-end tests create network namespaces: run as root" >&2
  exit 1
fi
mapfile -t files < <(
  find ipam-store/dist server/dist test/dist -name '*.test.js' | sort
  find shim/test -name '*.test.mjs' | sort
)
exec node --test --test-reporter=spec "${files[@]}"
