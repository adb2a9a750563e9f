# xl's ms_vm_genid for a PVH guest across `xl save` and `xl restore CONFIG`: Linux, booted through
# OvmfXen, prints the ID's bytes (read at VGIA through /dev/mem); after the restore the toolstack
# wrote a new ID and the running guest sees the bytes change. (OvmfXen itself cannot be saved: it
# does not answer the PV suspend request, so the guest has to be an OS.)
. /harness/checks/lib.sh
guest "$NAME" /jobs/shared/os-vmgenid-disk 'ms_vm_genid = "generate"' 'memory = 512' || fail "xl create"
vmgenid_restore "$NAME"
xl destroy "$NAME"
say "ok: a new ID after xl save + xl restore, seen by the running guest"
