#!/usr/bin/env python3
"""Writes the ASL of pvhboot's DSDT on stdout: mk_dsdt.py MAX_CPUS.

The DSDT describes what a PVH domain built by pvhboot has, the way libxl's DSDT for PVH does
(tools/libacpi: dsdt_acpi_info.asl and mk_dsdt.c --dm-version none): the information page the
loader fills at 0xFC000000 and one processor device per possible vCPU. A processor is present
when its number is below the page's vCPU count and its MADT Local APIC entry is enabled; its _MAT
returns that entry. There is no CPU hotplug (pvhboot starts every vCPU at boot), so unlike libxl
there is no GPE method. The table is static: what varies per domain is in the information page
and the MADT, which loader/acpi.cpp writes.
"""
import sys

max_cpus = int(sys.argv[1])
assert 1 <= max_cpus <= 255
out = []
w = out.append
w('DefinitionBlock ("", "DSDT", 5, "Xen", "PVHBOOT", 1)')
w('{')
w('    Scope (\\_SB)')
w('    {')
w('        // The information page (struct InfoPage in loader/acpi.cpp).')
w('        OperationRegion (BIOS, SystemMemory, 0xFC000000, 40)')
w('        Field (BIOS, ByteAcc, NoLock, Preserve)')
w('        {')
w('            Offset (2),')
w('            NCPU, 16,   // vCPUs')
w('            Offset (12),')
w('            MSUA, 32,   // address of the MADT checksum')
w('            MAPA, 32,   // address of the first MADT Local APIC entry')
w('            VGIA, 32,   // address of the VM generation ID, 0 without one')
w('        }')
w('')
w('        // _MAT of processor Arg0: its MADT entry Arg1 while it exists, else a disabled entry.')
w('        Method (PMAT, 2)')
w('        {')
w('            If (LLess (Arg0, NCPU))')
w('            {')
w('                Return (ToBuffer (Arg1))')
w('            }')
w('            Return (Buffer () {0, 8, 0xff, 0xff, 0, 0, 0, 0})')
w('        }')
for cpu in range(max_cpus):
    w('')
    w('        Device (PR%02X)' % cpu)
    w('        {')
    w('            Name (_HID, "ACPI0007")')
    w('            Name (_UID, %d)' % cpu)
    w('            OperationRegion (MATR, SystemMemory, Add (\\_SB.MAPA, %d), 8)' % (cpu * 8))
    w('            Field (MATR, ByteAcc, NoLock, Preserve)')
    w('            {')
    w('                MAT, 64')
    w('            }')
    w('            Field (MATR, ByteAcc, NoLock, Preserve)')
    w('            {')
    w('                Offset (4),')
    w('                FLG, 1')
    w('            }')
    w('            Method (_MAT, 0)')
    w('            {')
    w('                Return (PMAT (%d, MAT))' % cpu)
    w('            }')
    w('            Method (_STA, 0)')
    w('            {')
    w('                If (LAnd (LLess (%d, \\_SB.NCPU), FLG))' % cpu)
    w('                {')
    w('                    Return (0x0F)')
    w('                }')
    w('                Return (0x00)')
    w('            }')
    w('        }')
w('    }')
w('}')
print('\n'.join(out))
