# Sourced by the install scripts (setup.sh, install-runtime-deps.sh, install-libcni-helper.sh,
# install-containerd.sh, bench.sh): which Debian packages are missing, and `apt-get update` at
# most once for all of them (each used to refresh the package lists itself: up to five times
# on a fresh machine).

# True when Debian package $1 is installed.
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Prints the packages among "$@" that are not installed, one per line
# (`mapfile -t missing < <(missing_packages "${packages[@]}")`).
missing_packages() {
  local p
  for p in "$@"; do installed "$p" || echo "$p"; done
}

# `apt-get update`, unless one of these scripts ran it successfully in the last 30 minutes
# and the package lists are still there (the stamp is in /run, usually a tmpfs). Its exit
# status is apt-get's (a stamp that cannot be written only means the next script updates too).
apt_update_once() {
  local stamp=/run/podwire-apt-lists-updated
  if [ -n "$(find "$stamp" -maxdepth 0 -mmin -30 2>/dev/null)" ] && compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    return 0
  fi
  apt-get update -qq || return
  touch "$stamp" 2>/dev/null || true
}
