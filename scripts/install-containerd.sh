#!/usr/bin/env bash
# Installs what the CRI end-to-end test and the CRI bench rows drive, when it is missing:
#   containerd   Debian's 1.6 with its CRI plugin (io.containerd.grpc.v1.cri) and ctr, which
#                the test runs privately (its own root, state and socket in a temp dir)
#   runc         the OCI runtime containerd's runc shim execs (crun fails on hybrid cgroups)
# The tests never use a system containerd (they start their own on a private socket and
# state dir). Exits 0 even when the install fails (it says why): the CRI test then skips
# itself with containerd's own error.
set -uo pipefail
. "$(dirname "$(readlink -f "$0")")/lib/debian-packages.sh" || { echo "install-containerd: cannot read scripts/lib/debian-packages.sh" >&2; exit 1; }

packages=(containerd runc)
mapfile -t missing < <(missing_packages "${packages[@]}")
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-containerd: run as root to install: ${missing[*]} (the CRI test will skip)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-containerd: installing Debian packages: ${missing[*]}"
apt_update_once || echo "install-containerd: apt-get update failed" >&2
if ! out=$(apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1); then
  echo "install-containerd: ${missing[*]} not installed, the CRI test will skip:" >&2
  echo "$out" | tail -n 5 >&2
fi
exit 0
