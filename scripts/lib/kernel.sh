# The Debian kernel that dom0 and the Linux test guests both run (sourced, not run).
# debian_kernel: fetches the newest linux-image-6.1.*-amd64 package once, unpacks it into the
# cache with its modules.dep (depmod), and prints that directory (boot/vmlinuz-*, lib/modules/*).
debian_kernel() {
  local cache=${ELFWRAP_CACHE:-/var/cache/elfwrap} kpkg kver out work
  ensure_packages kmod
  apt_update_once >/dev/null 2>&1 || true
  kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6\.1/ { print $2; exit }')
  [ -n "$kpkg" ] || kpkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -1)
  kver=$(apt-cache policy "$kpkg" | awk '/Candidate:/ { print $2 }')
  out=$cache/kernel/$kpkg-$kver
  if [ ! -f "$out/.complete" ]; then
    progress "downloading $kpkg ($kver)"
    work=$(mktemp -d)
    (cd "$work" && apt-get download -qq "$kpkg=$kver" >/dev/null 2>&1 || apt-get download -qq "$kpkg" >/dev/null)
    rm -rf "$out"
    mkdir -p "$out"
    dpkg-deb -x "$work"/linux-image-*.deb "$out"
    rm -rf "$work"
    /usr/sbin/depmod -b "$out" "$(basename "$(ls -d "$out"/lib/modules/*)")"
    echo "$kpkg $kver" >"$out/VERSION"
    touch "$out/.complete"
  fi
  echo "$out"
}

# kernel_modules KROOT MODULE...: the .ko files MODULE needs, dependencies first, one a line
# (paths relative to KROOT/lib/modules/RELEASE).
kernel_modules() {
  local kroot=$1 release m
  shift
  release=$(basename "$(ls -d "$kroot"/lib/modules/*)")
  for m in "$@"; do
    /usr/sbin/modprobe -d "$kroot" -S "$release" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
  done | awk '!seen[$0]++' | sed "s|^$kroot/lib/modules/$release/||"
}
