#!/usr/bin/env bash
# Builds what tsc cannot: the TypeScript types generated from proto/ and the native addon (setns, peer
# credentials, the state-dir flock, the libnftables binding).
# The TypeScript itself is compiled by `tsc -b` from the repository root (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")"

rm -rf src/generated
../node_modules/.bin/proto-loader-gen-types --longs=String --enums=String --defaults --oneofs \
  --grpcLib=@grpc/grpc-js -I ../proto -O src/generated -- podwire/v1/cni.proto podwire/v1/debug.proto >/dev/null

addon=native/build/Release/podwire_native.node
if [ ! -f "$addon" ] || [ -n "$(find native -maxdepth 1 -newer "$addon" -name "*.[ch]")" ] || [ native/binding.gyp -nt "$addon" ]; then
  nodedir=()
  # Build against the headers of the Node that runs us (node-gyp would otherwise download them).
  [ -f /usr/include/node/node_api.h ] && nodedir=(--nodedir=/usr)
  ../node_modules/.bin/node-gyp rebuild -C native "${nodedir[@]}" --loglevel=warn
fi
