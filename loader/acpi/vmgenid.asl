/*
 * pvhboot's SSDT for a VM Generation ID (Microsoft, "Virtual Machine Generation ID", 2012): a
 * device whose ADDR method returns the guest-physical address of the 16-byte ID as a package of
 * two integers (low 32 bits, high 32 bits). Its identity is the one hvmloader's DSDT gives HVM
 * guests (tools/libacpi/dsdt.asl: _HID XEN0000, _CID "VM_Gen_Counter"), so the same drivers bind:
 * Windows' vmgencounter and Linux's vmgenid (drivers/virt/vmgenid.c matches "VM_GEN_COUNTER";
 * ACPICA upper-cases _CID strings). The address is VGIA in the information page the DSDT
 * describes; the device is absent while VGIA is 0.
 */
DefinitionBlock ("", "SSDT", 2, "Xen", "VMGENID", 1)
{
    External (\_SB.VGIA, FieldUnitObj)

    Scope (\_SB)
    {
        Device (VGID)
        {
            Name (_HID, EisaId ("XEN0000"))
            Name (_UID, 0x00)
            Name (_CID, "VM_Gen_Counter")
            Name (_DDN, "VM_Gen_Counter")
            Method (_STA, 0, NotSerialized)
            {
                If (LEqual (\_SB.VGIA, 0x00000000))
                {
                    Return (0x00)
                }
                Return (0x0F)
            }
            Method (ADDR, 0, NotSerialized)
            {
                Local0 = Package (0x02) { 0x00000000, 0x00000000 }
                Local0 [0x00] = \_SB.VGIA
                Return (Local0)
            }
        }
    }
}
