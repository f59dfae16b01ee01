#!/usr/bin/env bash
# Builds podwire's node image without a registry or a container engine, from this checkout's
# build (`npm run build` first): the layout deploy/Dockerfile's runtime stage produces
# (/opt/podwire/{package.json, node_modules (production dependencies), ipam-store, server
# (dist, the native addon), proto, shim/build/podwire, deploy/{install.sh,10-podwire.conflist}},
# /usr/local/bin/podwired and podwirectl, entrypoint `node /opt/podwire/server/dist/main.js`),
# with this host's Node runtime and the shared libraries it, the native modules and the
# installer's tools need, as a one-layer OCI archive (scripts/oci-archive.sh).
#
# usage: scripts/build-node-image.sh [OUT.tar] [NAME]
#   default OUT: build/image/podwire.oci.tar (gitignored), NAME: docker.io/library/podwire:dev
#   (what the DaemonSet's "image: podwire:dev" means to a container runtime)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/build/image/podwire.oci.tar}
name=${2:-docker.io/library/podwire:dev}
cd "$repo"
for f in shim/build/podwire server/dist/main.js server/dist/ctl/main.js ipam-store/dist server/native/build/Release/podwire_native.node; do
  [ -e "$f" ] || { echo "build-node-image: $f is missing (run npm run build)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/podwire-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
app=$rootfs/opt/podwire
mkdir -p "$rootfs"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,etc,tmp,root,run,var/lib,dev,proc,sys} "$app"
chmod 1777 "$rootfs/tmp"
# merged /usr, as in Debian 12
ln -s usr/bin "$rootfs/bin"; ln -s usr/sbin "$rootfs/sbin"; ln -s usr/lib "$rootfs/lib"; ln -s usr/lib64 "$rootfs/lib64"
ln -s ../run "$rootfs/var/run"
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"

# ---- the application: the same paths as deploy/Dockerfile's COPY lines -------------------------
cp package.json "$app/"
mkdir -p "$app/node_modules" "$app/ipam-store" "$app/server/native/build/Release" "$app/shim/build" "$app/deploy"
# production dependencies of podwired and the lease store (npm's own view, no network)
npm ls --omit=dev --parseable --all -w server -w ipam-store 2>/dev/null |
  sed -n "s|^$repo/node_modules/||p" |
  grep -E '^(@[^/]+/)?[^/@][^/]*$' | grep -v '^@podwire/test$' | sort -u |
  while read -r pkg; do
    mkdir -p "$app/node_modules/$(dirname "$pkg")"
    cp -a "node_modules/$pkg" "$app/node_modules/$pkg"
  done
cp ipam-store/package.json "$app/ipam-store/"
cp -a ipam-store/dist "$app/ipam-store/dist"
cp server/package.json "$app/server/"
cp -a server/dist "$app/server/dist"
cp server/native/build/Release/podwire_native.node "$app/server/native/build/Release/"
cp -a proto "$app/proto"
cp shim/build/podwire "$app/shim/build/podwire"
cp deploy/install.sh deploy/10-podwire.conflist "$app/deploy/"
find "$app" \( -name '*.tsbuildinfo' -o -name '*.map' -o -name '*.test.js' -o -name '*.test.d.ts' \) -delete
chmod 0755 "$app/server/dist/main.js" "$app/server/dist/ctl/main.js" "$app/deploy/install.sh"
ln -s /opt/podwire/server/dist/main.js "$rootfs/usr/local/bin/podwired"
ln -s /opt/podwire/server/dist/ctl/main.js "$rootfs/usr/local/bin/podwirectl"

# ---- the runtime: Node, the installer's tools, and every shared library they load -------------
node_bin=$(readlink -f "$(command -v node)")
cp "$node_bin" "$rootfs/usr/local/bin/node"
tools=(bash env dirname basename mkdir mktemp cp chmod sync mv rm cat ls)
for t in "${tools[@]}"; do
  p=$(readlink -f "$(command -v "$t")")
  cp "$p" "$rootfs/usr/bin/$t"
done
ln -s bash "$rootfs/usr/bin/sh"
objects=("$node_bin")
for t in "${tools[@]}"; do objects+=("$(readlink -f "$(command -v "$t")")"); done
while IFS= read -r -d '' so; do objects+=("$so"); done < <(find "$app" -name '*.node' -print0)
# `ldd` prints "soname => /path (addr)" and the loader as "/path (addr)"
# (ldd fails on the other architectures' prebuilt addons npm ships beside ours)
{ ldd "${objects[@]}" 2>/dev/null || true; } | grep -oE '/[^ ]+\.so[^ ]*' | sort -u | while read -r lib; do
  [ -e "$lib" ] || continue
  dest="$rootfs$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
  mkdir -p "$(dirname "$dest")"
  [ -e "$dest" ] || cp -L "$lib" "$dest"
done

bash "$repo/scripts/oci-archive.sh" --rootfs "$rootfs" --name "$name" --out "$out" \
  --entrypoint '["node","--max-semi-space-size=2","/opt/podwire/server/dist/main.js"]' --workdir /opt/podwire \
  --env '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
