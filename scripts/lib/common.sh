# Shared helpers for scripts/*.sh (sourced, not run).

_t0=${_t0:-$(date +%s)}
# progress MSG: a progress line with the elapsed time since the script started.
progress() { printf '[%4ds] %s\n' "$(( $(date +%s) - _t0 ))" "$*" >&2; }

_apt_updated=0
apt_update_once() {
  if [ "$_apt_updated" = 0 ]; then
    progress "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    _apt_updated=1
  fi
}

# ensure_packages PKG...: install those of the Debian packages that are missing.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_update_once
  progress "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
