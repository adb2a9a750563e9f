// One home for the numbers every part of the project shares: the guest physical layout Xen 4.17
// and libxl give x86 PVH/HVM guests (libxl_x86.c, xen/include/public/arch-x86/hvm/start_info.h,
// tools/libs/guest/xg_dom_x86.c), and the alignment helpers. See docs/xen-layout.md.
#pragma once

#include <cstdint>

namespace elfwrap {

inline constexpr uint64_t kPage = 0x1000;
inline constexpr uint64_t kMiB = 0x100000;
inline constexpr uint64_t k4GiB = 0x100000000ull;
// libxl's MMIO hole for PVH guests: no RAM in [kMmioHoleStart, 4 GiB) (LIBXL_X86_MMIO_HOLE_START
// for type="pvh", and where hvmloader maps firmware for HVM).
inline constexpr uint64_t kMmioHoleStart = 0xfc000000;
// Xen's special pages of an HVM-container guest (X86_HVM_END_SPECIAL_REGION, 8 pages: console,
// xenstore, paging, access, sharing, ioreq and buffered ioreq, ...), reserved in its memory map.
inline constexpr uint64_t kSpecialPagesStart = 0xfeff8000, kSpecialPagesEnd = 0xff000000;
// The local APIC page, emulated by Xen for PVH guests (XEN_X86_EMU_LAPIC).
inline constexpr uint64_t kLapicBase = 0xfee00000;

// v rounded up / down to a multiple of `a` (a power of two). No overflow check: callers keep
// v below 2^64 - a (image offsets and guest addresses below 4 GiB + memory).
constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
constexpr bool overlaps(uint64_t a, uint64_t b, uint64_t c, uint64_t d) { return a < d && c < b; }  // [a,b) and [c,d)

}  // namespace elfwrap
