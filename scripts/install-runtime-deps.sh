#!/usr/bin/env bash
# Installs what the chaining and podman end-to-end tests need, when it is missing:
#   containernetworking-plugins  the reference CNI plugins in /usr/lib/cni (portmap,
#                                bandwidth, tuning, ...), chained after podwire
#   iptables                     portmap programs its DNAT/SNAT rules with it
#   podman, runc                 a real container runtime driving podwire (crun fails on
#                                hosts with hybrid cgroups, so the test uses --runtime runc)
#   busybox-static               a self-contained rootfs for podman (--rootfs, no registry)
# Idempotent: `apt-get update` runs only when something is missing (and once for all the
# install scripts: scripts/lib/debian-packages.sh). Exits 0 even
# when podman cannot be installed (it says why): the podman test then skips itself.
set -uo pipefail
. "$(dirname "$(readlink -f "$0")")/lib/debian-packages.sh" || { echo "install-runtime-deps: cannot read scripts/lib/debian-packages.sh" >&2; exit 1; }

required=(containernetworking-plugins iptables busybox-static)
optional=(podman runc)

mapfile -t missing_required < <(missing_packages "${required[@]}")
mapfile -t missing_optional < <(missing_packages "${optional[@]}")

if [ ${#missing_required[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-runtime-deps: run as root to install: ${missing_required[*]} ${missing_optional[*]}" >&2
  [ ${#missing_required[@]} -eq 0 ] && exit 0
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-runtime-deps: installing Debian packages: ${missing_required[*]} ${missing_optional[*]}"
if ! apt_update_once; then
  echo "install-runtime-deps: apt-get update failed" >&2
fi

status=0
if [ ${#missing_required[@]} -gt 0 ]; then
  if ! apt-get install -y -qq --no-install-recommends "${missing_required[@]}" >/dev/null; then
    echo "install-runtime-deps: could not install ${missing_required[*]} (the chaining test needs them)" >&2
    status=1
  fi
fi

if [ ${#missing_optional[@]} -gt 0 ]; then
  # podman's recommends (crun, slirp4netns, uidmap, ...) are not needed: the test runs as
  # root with runc and podwire's own network.
  if ! out=$(apt-get install -y -qq --no-install-recommends "${missing_optional[@]}" 2>&1); then
    echo "install-runtime-deps: podman/runc not installed, the podman test will skip:" >&2
    echo "$out" | tail -n 5 >&2
  fi
fi

# The nat table must be usable for portmap (the iptables-nft backend needs nf_tables).
if command -v iptables >/dev/null && ! iptables -t nat -S >/dev/null 2>&1; then
  echo "install-runtime-deps: warning: 'iptables -t nat -S' fails here; portmap will not work" >&2
fi
exit $status
