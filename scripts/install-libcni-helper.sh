#!/usr/bin/env bash
# Builds test/build/libcni-driver: the end-to-end tests' driver of the real libcni
# (test/libcni-driver/main.go against Debian's golang-github-appc-cni-dev), installing
# golang-go and that package when missing. Offline: GOPATH mode over /usr/share/gocode, no
# module download. Idempotent: rebuilds only when the source is newer than the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-packages.sh

packages=(golang-go golang-github-appc-cni-dev)
mapfile -t missing < <(missing_packages "${packages[@]}")
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-libcni-helper: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-libcni-helper: run as root to install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_update_once
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

out=test/build/libcni-driver
src=test/libcni-driver/main.go
if [ -x "$out" ] && [ "$out" -nt "$src" ]; then
  exit 0
fi
mkdir -p test/build
echo "install-libcni-helper: building $out against $(dpkg-query -W -f='${Package} ${Version}' golang-github-appc-cni-dev)"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$PWD/test/build/go-cache" GOFLAGS= \
  go build -trimpath -o "$out.tmp" ./test/libcni-driver
mv "$out.tmp" "$out"
