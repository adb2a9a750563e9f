# The same ELF as an HVM guest's OVMF, through our hvmloader, with xl's existing ms_vm_genid: the
# UEFI shell, on the PV console, sees the device in hvmloader's DSDT (libacpi's dsdt.asl has it
# there for HVM, where PVH gets an SSDT), VGIA, the 16 bytes of the ID at VGIA, and memmap gives
# the page the type ACPI_NVS: hvmloader's E820 type for it, which OvmfXen dropped from its map
# before xen-patches/edk2-2022.11/0004.
. /harness/checks/lib.sh
hvm_guest "$NAME" - 'ms_vm_genid = "generate"' || fail "xl create"
vmgenid_shell "$NAME" DSDT ACPI_NVS
xl destroy "$NAME"
say "ok: the DSDT with the device, VGIA, the ID at VGIA, an ACPI NVS page"
