#!/usr/bin/env bash
# Builds the CRI tests' pod sandbox image without a registry: test/cri-image/pause.c compiled
# statically, as /pause in a one-layer OCI archive (scripts/oci-archive.sh).
#
# usage: scripts/build-pause-image.sh [OUT.tar] [NAME]
#   default OUT: test/build/cri/pause.oci.tar (gitignored), NAME: localhost/podwire/pause:test
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/test/build/cri/pause.oci.tar}
name=${2:-localhost/podwire/pause:test}
work=$(mktemp -d "${TMPDIR:-/tmp}/pause-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs"
cc -static -Os -s -Wall -Wextra -Werror -o "$work/rootfs/pause" "$here/test/cri-image/pause.c"
bash "$here/scripts/oci-archive.sh" --rootfs "$work/rootfs" --name "$name" --out "$out" --entrypoint '["/pause"]'
