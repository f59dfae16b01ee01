#!/usr/bin/env bash
# Builds every component: shim/build/podwire (make), the setns addon and generated proto
# types (server/build.sh), then the TypeScript of every workspace (tsc -b).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C shim
bash server/build.sh
node_modules/.bin/tsc -b
