# What `elfwrap verify --loader hvmloader` predicts for the images of hvm-same-elf-stock (boots)
# and hvm-code-3.5m-stock (misses the reset vector): those jobs show what stock hvmloader does.
"$ELFWRAP" "$FIRMWARE/OvmfXen-RELEASE-2M.fd" -o "$WORK/v.elf" >/dev/null || exit 1
v1=$("$ELFWRAP" verify "$WORK/v.elf" --loader hvmloader 2>&1) && r1=0 || r1=$?
v2=$("$ELFWRAP" verify /usr/share/OVMF/OVMF_CODE_4M.fd --loader hvmloader 2>&1) && r2=0 || r2=$?
echo "$v1"; echo "$v2"
[ "$r1" = 0 ] && [ "$r2" = 1 ] && grep -q "not a whole number of MiB" <<<"$v2" &&
  echo "verify: the 2 MiB ELF ok, OVMF_CODE_4M.fd refused" && exit 0
echo "verify exit $r1 (2 MiB ELF) and $r2 (OVMF_CODE_4M.fd)"
exit 1
