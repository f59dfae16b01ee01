#!/usr/bin/env bash
# Assembles an OCI image archive (oci-layout, index.json, blobs/sha256/*) from one root
# filesystem directory, without a registry or a container engine: one uncompressed layer
# (the directory, as a reproducible tar owned by root), an image config and a manifest.
# `ctr images import` reads the result; the image is named by io.containerd.image.name.
#
# usage: scripts/oci-archive.sh --rootfs DIR --name REF --out FILE.tar
#                               [--entrypoint JSON-ARRAY] [--cmd JSON-ARRAY] [--workdir DIR]
#                               [--env JSON-ARRAY]
#   e.g. --entrypoint '["/pause"]'
set -euo pipefail
rootfs='' name='' out='' entrypoint='null' cmd='null' workdir='/' envs='["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
while [ $# -gt 0 ]; do
  case "$1" in
    --rootfs) rootfs=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --entrypoint) entrypoint=$2; shift 2 ;;
    --cmd) cmd=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --env) envs=$2; shift 2 ;;
    *) echo "oci-archive.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -d "$rootfs" ] && [ -n "$name" ] && [ -n "$out" ] || { echo "usage: oci-archive.sh --rootfs DIR --name REF --out FILE.tar" >&2; exit 2; }

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/oci-archive.XXXXXX")
trap 'rm -rf "$work"' EXIT
blobs="$work/image/blobs/sha256"
mkdir -p "$blobs"

# Writes stdin to a blob; prints "sha256 size".
put_blob() {
  local tmp="$work/blob.tmp" sum size
  cat >"$tmp"
  sum=$(sha256sum "$tmp" | cut -d' ' -f1)
  size=$(stat -c %s "$tmp")
  mv "$tmp" "$blobs/$sum"
  echo "$sum $size"
}

read -r layer_sum layer_size < <(tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime=@0 --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf - . | put_blob)

config=$(printf '{"architecture":"%s","os":"linux","config":{"Env":%s,"Entrypoint":%s,"Cmd":%s,"WorkingDir":"%s"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"scripts/oci-archive.sh"}]}' \
  "$arch" "$envs" "$entrypoint" "$cmd" "$workdir" "$layer_sum")
read -r config_sum config_size < <(printf '%s' "$config" | put_blob)

manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
  "$config_sum" "$config_size" "$layer_sum" "$layer_size")
read -r manifest_sum manifest_size < <(printf '%s' "$manifest" | put_blob)

printf '{"imageLayoutVersion":"1.0.0"}' >"$work/image/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest_sum" "$manifest_size" "$arch" "$name" "${name##*:}" >"$work/image/index.json"

mkdir -p "$(dirname "$out")"
tar -C "$work/image" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out.tmp" oci-layout index.json blobs
mv -f "$out.tmp" "$out"
echo "$out: $name (manifest sha256:$manifest_sum, layer $layer_size bytes)"
