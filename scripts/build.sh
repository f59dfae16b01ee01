#!/usr/bin/env bash
# Builds every component: shim/build/podwire (make), the setns addon and generated proto
# types (server/build.sh), the tests' exec-helper, then the TypeScript of every workspace (tsc -b).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C shim
# the tests' and the benchmark's process spawner (test/src/lib/exec-helper-process.ts)
mkdir -p test/build
if [ ! -x test/build/exec-helper ] || [ test/src/bench/exec-helper.c -nt test/build/exec-helper ]; then
  cc -O2 -Wall -static -o test/build/exec-helper test/src/bench/exec-helper.c
fi
bash server/build.sh
node_modules/.bin/tsc -b
