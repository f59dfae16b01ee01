#!/usr/bin/env bash
# Runs every test with node:test: unit tests beside the code (compiled to each workspace's
# dist/), the shim's tests, and the cross-component end-to-end tests in test/.
set -euo pipefail
cd "$(dirname "$0")/.."
# Formatting and lint first (a few seconds): any finding, warnings included, fails the run.
node_modules/.bin/biome ci --error-on-warnings .
if [ "$(id -u)" -ne 0 ]; then
  echo "run-tests: the end-to-end tests create network namespaces: run as root" >&2
  exit 1
fi
# A compiled test whose source is gone (renamed or deleted since the last build) is not run.
has_source() { local src="${1%.js}.ts"; [ -f "${src/\/dist\//\/src\/}" ]; }
# Run beside the others, in a second node --test process: files that live entirely in network
# namespaces of their own (named with the test's pid; links, routes and nftables tables only
# inside them; no podwired, no /run path, no host socket) and mostly wait on probe deadlines.
# Their report is printed after the others'. Add a file here only if all of that holds.
BESIDE=(server/dist/policy/compile/policy-traffic.test.js)
beside=()
for f in "${BESIDE[@]}"; do [ -f "$f" ] && has_source "$f" && beside+=("$f"); done
mapfile -t files < <(
  find ipam-store/dist server/dist test/dist -name '*.test.js' | sort | while read -r f; do
    has_source "$f" || continue
    for b in "${beside[@]}"; do [ "$f" = "$b" ] && continue 2; done
    echo "$f"
  done
  find shim/test -name '*.test.mjs' | sort
)
beside_log=$(mktemp)
beside_pid=
if [ "${#beside[@]}" -gt 0 ]; then
  node --test --test-reporter=spec "${beside[@]}" >"$beside_log" 2>&1 &
  beside_pid=$!
fi
trap '[ -n "$beside_pid" ] && kill "$beside_pid" 2>/dev/null; rm -f "$beside_log"' EXIT
status=0
node --test --test-reporter=spec "${files[@]}" || status=$?
beside_status=0
if [ -n "$beside_pid" ]; then
  wait "$beside_pid" || beside_status=$?
  beside_pid=
  echo "---- run beside the others: ${beside[*]}"
  cat "$beside_log"
fi
[ "$status" -eq 0 ] && [ "$beside_status" -eq 0 ]
