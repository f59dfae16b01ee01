#!/usr/bin/env bash
# Side-by-side benchmark of podwire against the reference CNI plugins (bridge + host-local,
# ptp + host-local, portmap). Creates and deletes interfaces in its own network namespaces
# (pwb-<pid>-*); the only traffic it sends is the cross-node rows' (TCP request/response and
# iperf3 between pods in two of those namespaces). Installs containernetworking-plugins and
# iperf3 when they are missing. Arguments go to run-bench.js (--quick, --pods N, --out PATH...).
# Everything the run creates is removed on exit, also when it fails or is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "bench: run as root (it creates network namespaces and interfaces)" >&2
  exit 1
fi

if [ ! -x /usr/lib/cni/bridge ] || [ ! -x /usr/lib/cni/ptp ] || [ ! -x /usr/lib/cni/host-local ]; then
  echo "bench: installing containernetworking-plugins (reference plugins in /usr/lib/cni)"
  export DEBIAN_FRONTEND=noninteractive
  . scripts/lib/debian-packages.sh
  apt_update_once
  apt-get install -y -qq containernetworking-plugins >/dev/null
fi
# The cross-node rows (vxlan-datapath-bench.ts) measure TCP throughput with iperf3.
if ! command -v iperf3 >/dev/null; then
  echo "bench: installing iperf3 (the cross-node throughput rows)"
  export DEBIAN_FRONTEND=noninteractive
  . scripts/lib/debian-packages.sh
  apt_update_once
  apt-get install -y -qq --no-install-recommends iperf3 >/dev/null
fi
# The exec helper that times plugin executions is compiled with cc (build-essential, which
# scripts/setup.sh installs); without it the bench falls back to timing with Node's spawn.
command -v cc >/dev/null || echo "bench: no C compiler: plugin executions will be timed with Node's spawn" >&2

if [ ! -f test/dist/bench/run-bench.js ] || [ ! -x shim/build/podwire ] || [ ! -f server/dist/main.js ]; then
  echo "bench: not built: run npm run build (or npm run bench, which builds first)" >&2
  exit 1
fi

. scripts/lib/portmap-nat.sh
nat_before=$(nat_families_present)
run_id=$$
work=$(mktemp -d "/tmp/pwb-${run_id}.XXXXXX")
chmod 700 "$work"

# Belt and braces: run-bench.js cleans up after itself (try/finally, SIGINT/SIGTERM); this
# also covers it being killed outright. Only touches what this run created: podwired started
# on this run's sockets, netns pwb-<run_id>-* (the restart rows' pwb-<run_id>-r<N>-* too: deleting
# them destroys those pods' veth pairs and routes), floor veths bf<run_id>x*, cni-bench0 when this
# run created it and no port is left on it.
cleanup() {
  local rc=$?
  # podwired.pid: the main run's server; podwired-restart.pid: the restart rows' server; the
  # hostport, masquerade and cross-node rows' servers write podwired-<group>.pid. podwired
  # sets process.title, which replaces its /proc cmdline with "podwired", so a pid is taken to be
  # this run's server only when it holds a file under $work open (its ipam.db).
  local pidfile pid
  for pidfile in "$work"/podwired*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if [ -d "/proc/$pid/fd" ] && find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -lname "$work/*" 2>/dev/null | grep -q .; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
      [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  ip netns list 2>/dev/null | awk '{print $1}' | grep "^pwb-${run_id}-" | sed 's/^/netns del /' | ip -batch - 2>/dev/null || true
  for l in /sys/class/net/bf"${run_id: -7}"x*; do
    [ -e "$l" ] && ip link del "$(basename "$l")" 2>/dev/null || true
  done
  if [ -f "$work/created-bridge" ] && [ -d /sys/class/net/cni-bench0 ] && [ -z "$(ls /sys/class/net/cni-bench0/brif 2>/dev/null)" ]; then
    ip link del cni-bench0 2>/dev/null || true
  fi
  drop_portmap_nat "$nat_before"
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node test/dist/bench/run-bench.js --run-id "$run_id" --work-dir "$work" "$@"
