# Helpers for Debian source packages (sourced).
# ensure_deb_src: add deb-src entries derived from the configured binary entries, so that
# `apt-get source` works without this repository naming any archive host.
ensure_deb_src() {
  local out=/etc/apt/sources.list.d/elfwrap-deb-src.sources
  [ -f "$out" ] && return 0
  local src=/etc/apt/sources.list.d/debian.sources
  if [ ! -f "$src" ]; then
    echo "debsrc: $src not found: cannot derive a deb-src entry" >&2
    return 1
  fi
  # Each "Types: deb" stanza again, as "Types: deb-src".
  awk 'BEGIN { RS = ""; ORS = "\n\n" } /(^|\n)Types:[^\n]*deb/ { sub(/Types:[^\n]*/, "Types: deb-src"); print }' \
    "$src" >"$out.tmp"
  mv "$out.tmp" "$out"
  _apt_updated=0
  progress "added deb-src entries ($out)"
}

# fetch_source PKG DIR: download and unpack Debian's source of PKG into DIR (once);
# prints the unpacked tree's path.
fetch_source() {
  local pkg=$1 dir=$2
  mkdir -p "$dir"
  local tree
  tree=$(find "$dir" -maxdepth 1 -mindepth 1 -type d -name "${pkg}-*" | head -1)
  if [ -z "$tree" ]; then
    apt_update_once
    progress "apt-get source $pkg"
    # The newest version first; when the archive lists a source it does not serve (Debian 12's
    # security archive for xen did: 404), the next one.
    local v ok=0
    for v in $(apt-cache showsrc "$pkg" | awk '/^Version:/ { print $2 }' | sort -rV | uniq); do
      if (cd "$dir" && apt-get source --download-only -qq "$pkg=$v" >/dev/null 2>&1); then ok=1; break; fi
      progress "apt-get source $pkg=$v failed; trying an older version"
    done
    [ "$ok" = 1 ] || { echo "debsrc: no source of $pkg could be downloaded" >&2; return 1; }
    (cd "$dir" && dpkg-source -x --no-check "$(ls ${pkg}_*.dsc | sort -V | tail -1)" >/dev/null)
    tree=$(find "$dir" -maxdepth 1 -mindepth 1 -type d -name "${pkg}-*" | head -1)
  fi
  echo "$tree"
}

# patched_copy SRC WORK PATCHDIR: WORK becomes a copy of SRC with PATCHDIR's series applied in
# order (patch -p1); the unpacked source stays pristine. Idempotent: WORK is kept once complete.
patched_copy() {
  local src=$1 work=$2 patches=$3 p
  [ -f "$work/.elfwrap-patched" ] && return 0
  progress "preparing $work"
  rm -rf "$work"
  mkdir -p "$(dirname "$work")"
  cp -a "$src" "$work"
  for p in $(cat "$patches/series"); do
    progress "applying $p"
    patch -d "$work" -p1 -s --no-backup-if-mismatch <"$patches/$p"
  done
  touch "$work/.elfwrap-patched"
}

# series_hash PATCHDIR: a short hash of the series and its patches (part of cache keys).
series_hash() {
  (cd "$1" && cat series $(cat series) | sha256sum | cut -c1-12)
}
