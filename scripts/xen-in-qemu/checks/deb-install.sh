# The packages as a user installs them: dpkg -i of this tree's elfwrap and ovmf-xen-pvh .debs
# (scripts/build-debs.sh) in dom0, then
#   1. firmware="ovmf" (no kernel=): the patched xl takes the packaged
#      /usr/lib/xen-4.17/boot/ovmf-pvh.elf, with nvram= on a copy of the packaged VARS template,
#      served by the packaged xen-pflash; to the UEFI shell;
#   2. firmware_override = the packaged 4 MiB image, to the shell;
#   3. dpkg -P removes what the packages installed.
# dom0's dpkg is busybox's: it checks no dependencies against a database dom0 does not have
# (--force-depends). What the harness itself keeps at the packages' paths (its elfwrap, its
# wrapped OvmfXen for firmware-ovmf-pvh) is set aside first and put back at the end, whatever
# happens, so that the jobs after this one find dom0 as it was.
. /harness/checks/lib.sh
fw=/usr/lib/xen-4.17/boot/ovmf-pvh.elf
fw4=/usr/lib/xen-4.17/boot/ovmf-pvh-4m.elf
vars=/usr/share/ovmf-xen-pvh/OVMF_VARS.fd
saved=$PWD/saved
mkdir -p "$saved"
made_db=
if [ ! -d /var/lib/dpkg ]; then
  mkdir -p /var/lib/dpkg/info && : >/var/lib/dpkg/status && made_db=1
fi
paths=$( (dpkg-deb -c elfwrap-deb; dpkg-deb -c ovmf-xen-pvh-deb) | awk '$1 !~ /^d/ { print $NF }' | sed 's/^\.//')
[ -n "$paths" ] || fail "dpkg-deb -c lists nothing"
restore() {
  xl destroy "$NAME-a" >/dev/null 2>&1
  xl destroy "$NAME-b" >/dev/null 2>&1
  dpkg -P ovmf-xen-pvh elfwrap >/dev/null 2>&1
  (cd "$saved" && find . -type f) | while read -r f; do
    mkdir -p "$(dirname "${f#.}")" && mv "$saved/$f" "${f#.}"
  done
  [ -n "$made_db" ] && rm -rf /var/lib/dpkg
}
trap restore EXIT
for p in $paths; do
  [ -f "$p" ] || continue
  mkdir -p "$saved$(dirname "$p")" && mv "$p" "$saved$p"
done
say "set aside what the harness had at the packages' paths: $( (cd "$saved" && find . -type f | sed 's/^\.//') | tr '\n' ' ')"

dpkg -i --force-depends elfwrap-deb ovmf-xen-pvh-deb >dpkg.log 2>&1 || { sed 's/^/dpkg: /' dpkg.log; fail "dpkg -i"; }
sed 's/^/dpkg: /' dpkg.log
dpkg -l | grep -E "^ii +(elfwrap|ovmf-xen-pvh) " | sed 's/^/dpkg -l: /'
[ "$(dpkg -l | grep -cE '^ii +(elfwrap|ovmf-xen-pvh) ')" = 2 ] || fail "dpkg -l does not list both packages as installed"
for f in $fw $fw4 $vars /usr/bin/elfwrap /usr/sbin/pvhboot /usr/sbin/xen-pflash; do
  [ -f "$f" ] || fail "$f is not installed"
done
# The installed elfwrap (and its LIEF plugin from the package) checks the installed firmware.
/usr/bin/elfwrap verify "$fw" --loader xen >verify.log 2>&1 || { cat verify.log; fail "elfwrap verify $fw"; }
say "installed elfwrap: $(/usr/bin/elfwrap --version 2>&1 | head -1); verify $fw: $(head -1 verify.log)"
/usr/bin/elfwrap vars list "$vars" >vars.log 2>&1 || { cat vars.log; fail "elfwrap vars list $vars"; }
say "$vars: $(head -1 vars.log)"
cp "$vars" vars.fd

# 1. firmware="ovmf" from the package, its variables in a copy of the template.
guest "$NAME-a" - 'firmware = "ovmf"' "nvram = \"$PWD/vars.fd\"" || fail "xl create (firmware=\"ovmf\")"
# xl's log names the image it loaded: the packaged one.
grep -E "xc_dom_kernel_file.*ovmf-pvh.elf" "$NAME-a.create.log" | head -1 | sed "s/^/$NAME-a: xl: /"
grep -q "ovmf-pvh.elf" "$NAME-a.create.log" || fail "xl's log does not name $fw"
pid=$(pflash_pid "$NAME-a")
exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
say "boot 1: xen-pflash pid ${pid:-none}, running $exe"
[ "$exe" = /usr/sbin/xen-pflash ] || fail "the flash emulator is not the packaged /usr/sbin/xen-pflash ('$exe')"
t=$(wait_console "$NAME-a" "UEFI Interactive Shell" 180) || { tail -20 "$(console_log "$NAME-a")"; fail "firmware=\"ovmf\": no shell"; }
say "boot 1: the shell at dom0 time ${t} ms"
xl destroy "$NAME-a" || fail "xl destroy"
/usr/bin/elfwrap vars list vars.fd >vars-after.log 2>&1 || { cat vars-after.log; fail "the VARS copy after boot 1"; }
say "vars.fd after boot 1: $(head -1 vars-after.log)"

# 2. The packaged 4 MiB image.
guest "$NAME-b" - 'firmware = "uefi"' "firmware_override = \"$fw4\"" || fail "xl create ($fw4)"
t=$(wait_console "$NAME-b" "UEFI Interactive Shell" 180) || { tail -20 "$(console_log "$NAME-b")"; fail "$fw4: no shell"; }
say "boot 2 ($fw4): the shell at dom0 time ${t} ms"
xl destroy "$NAME-b" || fail "xl destroy"

# 3. Purge: nothing of the packages is left.
dpkg -P ovmf-xen-pvh elfwrap >purge.log 2>&1 || { cat purge.log; fail "dpkg -P"; }
for p in $paths; do
  [ -e "$p" ] && fail "$p is still there after dpkg -P"
done
say "dpkg -P: $(echo "$paths" | wc -l) files removed"
say "ok"
