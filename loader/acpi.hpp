// The ACPI tables pvhboot gives a PVH domain, laid out the way libxl does for type="pvh"
// (tools/libs/light/libxl_x86_acpi.c with tools/libacpi): pure, no hypervisor.
//
//   0xfc000000             information page: the values the DSDT reads (vCPU count, where the
//                          MADT's Local APIC entries are, where the VM generation ID is)
//   0xfc001000             the tables, 16-byte aligned one after the other: FACS, DSDT, FADT,
//                          MADT, [SSDT VM generation ID], XSDT, RSDT
//   next page              the RSDP (start_info's rsdp_paddr)
//   next page              [the 16-byte VM generation ID, at the start of the page]
//
// The information page, tables and RSDP are ACPI memory in the domain's memory map (E820 type 3,
// as libxl marks them); the generation ID's page is reserved (type 2), never usable by the OS,
// because a guest keeps reading it after boot. Tables and values:
//   FADT  revision 5, as libxl's: IA-PC boot flags NO_VGA and NO_CMOS_RTC (a PVH domain has
//         neither), power and sleep buttons absent, no PM timer
//   MADT  one enabled Local APIC per vCPU, processor UID n, APIC ID 2n (libxl's acpi_lapic_id),
//         no I/O APIC (PVH has none)
//   DSDT  one processor device per possible vCPU (loader/acpi/mk_dsdt.py)
//   SSDT  the generation-ID device (loader/acpi/vmgenid.asl), only with an ID
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "elfwrap/error.hpp"

namespace loader {

inline constexpr uint64_t kAcpiInfoAddress = 0xfc000000;  // ACPI_INFO_PHYSICAL_ADDRESS (libacpi)
inline constexpr uint64_t kAcpiMaxTablePages = 16;        // NUM_ACPI_PAGES in libxl_x86_acpi.c
inline constexpr unsigned kAcpiMaxVcpus = LOADER_ACPI_MAX_VCPUS;

using GenerationId = std::array<uint8_t, 16>;  // as the guest reads it: the GUID in EFI byte order

struct AcpiConfig {
  unsigned vcpus = 1;
  std::optional<GenerationId> generation_id;
};

struct AcpiTable {
  std::string signature;
  uint64_t address = 0, length = 0;
};

// Bytes libxenguest copies into guest memory (xc_dom_image.acpi_modules): index 0 is the RSDP.
struct AcpiModule {
  std::string what;
  uint64_t address = 0;
  std::vector<std::byte> bytes;
};

struct AcpiRange {
  uint64_t addr = 0, size = 0;
  bool reserved = false;  // false: ACPI memory (E820 3); true: reserved (E820 2)
};

struct AcpiLayout {
  std::vector<AcpiModule> modules;
  std::vector<AcpiTable> tables;
  uint64_t rsdp = 0;
  std::optional<uint64_t> generation_id_address;
  uint64_t start = 0, end = 0;  // every page the modules use, [start, end)
  std::vector<AcpiRange> ranges;
};

elfwrap::Expected<AcpiLayout> make_acpi(const AcpiConfig& config);

// "random" or a GUID in registry form (the first three fields little-endian in the result, as
// the spec and the seed describe). `random` comes from getrandom(2).
elfwrap::Expected<GenerationId> parse_generation_id(const std::string& text);
std::string generation_id_str(const GenerationId& id);  // registry form

// The two embedded AML tables (generated from loader/acpi/ by iasl at build time).
namespace aml {
extern const unsigned char dsdt[];
extern const std::size_t dsdt_size;
extern const unsigned char vmgenid[];
extern const std::size_t vmgenid_size;
}  // namespace aml

}  // namespace loader
