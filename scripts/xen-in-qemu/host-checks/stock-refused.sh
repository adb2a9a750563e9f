# Debian's stock OVMF.fd (OvmfPkg/ResetVector, no PVH entry): elfwrap refuses to wrap it for PVH,
# before any boot, and writes nothing. (ELFWRAP and WORK in the environment.)
out=$("$ELFWRAP" /usr/share/ovmf/OVMF.fd -o "$WORK/stock.elf" --target pvh 2>&1) && rc=0 || rc=$?
echo "$out"
[ "$rc" = 1 ] && [ ! -e "$WORK/stock.elf" ] && grep -q "cannot boot as a PVH guest" <<<"$out" &&
  echo "elfwrap refused it (exit 1)" && exit 0
echo "elfwrap exit $rc"
exit 1
