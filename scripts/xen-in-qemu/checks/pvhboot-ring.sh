# A guest that breaks its console ring (out_prod far ahead of out_cons): pvhboot reads no more
# than the ring holds, says the ring is broken, fails, and destroys the domain.
pvhboot run fw.elf --memory 64 --name "$NAME" --expect 'never printed' --timeout "$TIMEOUT" --console-log console.pvhboot
rc=$?
echo "pvhboot exited with $rc"
grep -q "RING-BREAKER ready" console.pvhboot || { echo "the guest did not get to breaking its ring"; exit 1; }
if xl domid "$NAME" >/dev/null 2>&1; then echo "domain $NAME left behind"; exit 1; fi
[ "$rc" = 1 ]
