#!/usr/bin/env bash
# Installs podwire's CNI side onto a host: the shim binary as /opt/cni/bin/podwire and the
# network configuration list into /etc/cni/net.d. Both are written to a temporary file in
# the target directory and renamed into place, so a runtime never sees a half-written file.
#
# usage: deploy/install.sh [--root DIR] [--shim PATH] [--conflist PATH] [--cni-bin-dir DIR] [--cni-conf-dir DIR]
#   --root DIR          install under DIR instead of / (for tests and image builds)
#   --shim PATH         the shim to install (default: shim/build/podwire of this checkout)
#   --conflist PATH     the conflist to install (default: deploy/10-podwire.conflist)
#   --cni-bin-dir DIR   default /opt/cni/bin
#   --cni-conf-dir DIR  default /etc/cni/net.d
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=/
shim="$here/../shim/build/podwire"
conflist="$here/10-podwire.conflist"
bin_dir=/opt/cni/bin
conf_dir=/etc/cni/net.d

while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; shift 2 ;;
    --shim) shim=$2; shift 2 ;;
    --conflist) conflist=$2; shift 2 ;;
    --cni-bin-dir) bin_dir=$2; shift 2 ;;
    --cni-conf-dir) conf_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

[ -x "$shim" ] || { echo "install.sh: shim $shim is missing or not executable (run npm run build)" >&2; exit 1; }
[ -f "$conflist" ] || { echo "install.sh: conflist $conflist is missing" >&2; exit 1; }
# Never install a conflist a runtime cannot parse.
if command -v node >/dev/null; then
  node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$conflist" 2>/dev/null ||
    { echo "install.sh: $conflist is not valid JSON" >&2; exit 1; }
elif command -v python3 >/dev/null; then
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$conflist" 2>/dev/null ||
    { echo "install.sh: $conflist is not valid JSON" >&2; exit 1; }
fi

# Copy $1 to $2 atomically with mode $3: a temp file in the same directory, fsync'd, renamed.
install_atomic() {
  local src=$1 dest=$2 mode=$3 dir tmp
  dir=$(dirname "$dest")
  mkdir -p "$dir"
  tmp=$(mktemp "$dir/.podwire-install.XXXXXX")
  trap 'rm -f "$tmp"' RETURN
  cp "$src" "$tmp"
  chmod "$mode" "$tmp"
  sync "$tmp" 2>/dev/null || sync
  mv -f "$tmp" "$dest"
}

bin_target="${root%/}$bin_dir/podwire"
conf_target="${root%/}$conf_dir/$(basename "$conflist")"
install_atomic "$shim" "$bin_target" 0755
install_atomic "$conflist" "$conf_target" 0644
echo "installed $bin_target and $conf_target"
