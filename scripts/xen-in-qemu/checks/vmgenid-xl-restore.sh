# xl's ms_vm_genid for a PVH guest across `xl save` and `xl restore CONFIG`: Linux, booted through
# OvmfXen, prints the ID's bytes (read at VGIA through /dev/mem); after the restore the toolstack
# wrote a new ID and the running guest sees the bytes change. (OvmfXen itself cannot be saved: it
# does not answer the PV suspend request, so the guest has to be an OS.)
. /harness/checks/lib.sh
n=$NAME
guest "$n" /jobs/shared/os-vmgenid-disk 'ms_vm_genid = "generate"' 'memory = 512' || fail "xl create"
log=$(console_log "$n")
wait_console "$n" 'VMGENID id=[0-9a-f]{32}' 240 >/dev/null || fail_console "$log" "no ID from the guest"
id1=$(plain "$log" | sed -n 's/.*VMGENID id=\([0-9a-f]*\).*/\1/p' | head -1)
plain "$log" | grep -E "Booting paravirtualized kernel|vmgenid|VMGENID" | head -4 | sed "s/^/$n: guest: /"
say "before save: $id1"
sleep 2
xl-patched save "$n" "$PWD/$n.save" >save.log 2>&1 || { cat save.log; fail "xl save"; }
xl domid "$n" >/dev/null 2>&1 && fail "the domain still runs after xl save"
say "saved ($(du -m "$n.save" | cut -f1) MiB)"
xl-patched restore "$n.cfg" "$PWD/$n.save" >restore.log 2>&1 || { cat restore.log; fail "xl restore"; }
rm -f "$n.save"
wait_console "$n" 'VMGENID changed id=[0-9a-f]{32}' 120 >/dev/null || fail_console "$log" "the restored guest did not report a new ID"
id2=$(plain "$log" | sed -n 's/.*VMGENID changed id=\([0-9a-f]*\).*/\1/p' | tail -1)
say "after restore: $id2"
[ "$id2" != "$id1" ] || fail "the ID did not change"
xl destroy "$n"
say "ok: a new ID after xl save + xl restore, seen by the running guest"
