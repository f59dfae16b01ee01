#!/usr/bin/env bash
# Runs every test with node:test: unit tests beside the code (compiled to each workspace's
# dist/), the shim's tests, and the cross-component end-to-end tests in test/. One node --test
# process, so the run ends with one summary; every file runs in a process of its own, three at
# a time (PODWIRE_TEST_CONCURRENCY overrides): most end-to-end time is waiting on the kernel,
# podwired and the runtimes. Files that wire pods in the host netns keep apart by
# construction: each has its own pod subnet (test/src/lib/test-subnets.ts, checked by its
# test), its own names (pid) and hostPort block, and asserts only on its own objects.
# PODWIRE_TAP=FILE also writes a TAP copy with every test's duration.
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
# The end-to-end files (the longest) first, so the last minute is not one long file alone
# while the other slots are idle; then the rest, the unit tests last.
mapfile -t files < <(
  {
    find test/dist/e2e -name '*.test.js' | sort
    find test/dist -path test/dist/e2e -prune -o -name '*.test.js' -print | sort
    find server/dist ipam-store/dist -name '*.test.js' | sort
  } | while read -r f; do has_source "$f" && echo "$f"; done
  find shim/test -name '*.test.mjs' | sort
)
. scripts/lib/portmap-nat.sh
nat_before=$(nat_families_present)
rc=0
node --test --test-concurrency="${PODWIRE_TEST_CONCURRENCY:-3}" --test-reporter=spec ${PODWIRE_TAP:+--test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination=$PODWIRE_TAP} "${files[@]}" || rc=$?
# the reference portmap's nat tables, which its chaining tests leave (no test file runs now)
drop_portmap_nat "$nat_before"
exit "$rc"
