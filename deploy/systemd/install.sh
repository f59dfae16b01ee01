#!/usr/bin/env bash
# Installs podwire on a host without Kubernetes: the shim and the conflist (deploy/install.sh),
# then the podwired systemd unit pointing at this checkout's built tree. Every file is written
# to a temporary file beside its target and renamed into place.
#
# usage: deploy/systemd/install.sh [--root DIR] [--no-start] [deploy/install.sh options...]
#   --root DIR   install under DIR (for tests and image builds); implies --no-start
#   --no-start   do not run systemctl daemon-reload / enable --now
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
home=$(cd "$here/../.." && pwd)
root=/
start=1
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; start=0; pass+=(--root "$2"); shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) pass+=("$1"); shift ;;
  esac
done

[ -f "$home/server/dist/main.js" ] || { echo "install.sh: podwired is not built (run npm run build in $home)" >&2; exit 1; }
bash "$here/../install.sh" "${pass[@]}"

unit_dir="${root%/}/etc/systemd/system"
mkdir -p "$unit_dir"
tmp=$(mktemp "$unit_dir/.podwire-install.XXXXXX")
trap 'rm -f "$tmp"' EXIT
node_bin=$(command -v node) || { echo "install.sh: node is not installed" >&2; exit 1; }
sed -e "s#@PODWIRE_HOME@#$home#g" -e "s#@NODE@#$node_bin#g" "$here/podwired.service" > "$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$unit_dir/podwired.service"
echo "installed $unit_dir/podwired.service"

if [ "$start" -eq 1 ]; then
  systemctl daemon-reload
  systemctl enable --now podwired.service
  echo "podwired enabled and started"
fi
