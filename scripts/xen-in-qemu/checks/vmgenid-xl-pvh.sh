# xl's ms_vm_genid for a PVH guest (xen-patches/xen-4.17/0005): OvmfXen's UEFI shell sees the
# SSDT's device, VGIA, the 16 bytes of the ID at VGIA and a Reserved page. (Save and restore are
# vmgenid-xl-restore's: the firmware cannot be saved, having no PV suspend support.)
. /harness/checks/lib.sh
guest "$NAME" - 'ms_vm_genid = "generate"' || fail "xl create"
vmgenid_shell "$NAME" SSDT Reserved
xl destroy "$NAME"
say "ok: SSDT with the device, VGIA, the ID at VGIA, a Reserved page"
