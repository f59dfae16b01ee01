#!/usr/bin/env bash
# Installs what podwire needs when it is missing (Debian packages, npm packages), then builds
# everything (the C shim, the setns addon, the generated proto types, the TypeScript).
# Idempotent: run by both `npm run demo` and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-packages.sh

# Debian packages: the shim's build (nghttp2, protobuf-c and its compiler, a C toolchain),
# the native addon's libnftables (podwired's nftables layer, server/src/nft), the tests' and
# the demo's tools (iproute2, ping, file; nft and conntrack, which the nftables tests use to
# cross-check what podwired programmed in-process).
packages=(build-essential libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler libnftables-dev iproute2 iputils-ping file python3 nftables conntrack)
mapfile -t missing < <(missing_packages "${packages[@]}")
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run as root (podwire's tests and demo create network namespaces)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_update_once
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# What the chaining and podman end-to-end tests drive: the reference CNI plugins, iptables,
# podman + runc and a busybox rootfs (the podman test skips itself if podman cannot run).
bash scripts/install-runtime-deps.sh
bash scripts/install-libcni-helper.sh   # the real-libcni driver of the chaining and multi-network tests
bash scripts/install-containerd.sh   # containerd 1.6 (CRI) + runc for the CRI test and bench

# npm packages: `npm ci` when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash scripts/build.sh
