// The boot plan of a PVH domain: everything pvhboot will do, computed before anything is done
// (pure: no hypervisor). make_boot_plan() reads the kernel's ELF headers and the configuration,
// lays out the guest the way libxl does for type="pvh", checks it against what libxenguest will
// accept, and may fail; Domain::build() (xen_backend.hpp) executes the plan and derives nothing.
//
//   RAM [0, lowmem_end)              lowmem_end = min(memory, 0xfc000000)
//   MMIO hole [0xfc000000, 4 GiB)    no RAM; the local APIC at 0xfee00000, Xen's special pages at
//                                    0xfeff8000-0xfeffffff
//   RAM [4 GiB, highmem_end)         the memory that did not fit below the hole
//
// libxc loads the kernel at its PT_LOAD addresses and allocates after it the modules and one
// start-info area (hvm_start_info, module list, command line, memory map).
//
// A kernel in the MMIO hole (an OVMF wrapped at 0xffe00000, where hvmloader puts a 2 MiB OVMF):
// libxc 4.17 cannot load it (it pads from 0 to the load address against the domain's RAM), so
// the plan has pvhboot populate that window itself (extra pages, counted in max memory, reserved
// in the memory map), copy the PT_LOADs there, and hand libxc a one-page entry stub at 1 MiB: a
// PVH ELF whose code jumps to the kernel's PHYS32_ENTRY with %ebx (the hvm_start_info address)
// untouched. The modules and start_info follow the stub, in low RAM.
//
// ACPI (loader/acpi.hpp): the information page, tables and RSDP from 0xfc000000, and a VM
// generation ID page after them, populated by libxenguest on top of the domain's memory;
// start_info's rsdp_paddr points at the RSDP.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "elfwrap/error.hpp"
#include "elfwrap/image.hpp"
#include "elfwrap/layout.hpp"
#include "loader/acpi.hpp"

namespace loader {

using elfwrap::k4GiB;
using elfwrap::kMmioHoleStart;
using elfwrap::kPage;
inline constexpr uint32_t kE820Ram = 1, kE820Reserved = 2, kE820Acpi = 3;
inline constexpr uint64_t kStubAddress = 0x100000;  // the entry stub for a kernel in the hole
inline constexpr uint64_t kMaxBlob = 1ull << 30;    // libxenguest's limit on a kernel or module (1 GiB)

struct E820 {
  uint64_t addr = 0, size = 0;
  uint32_t type = kE820Ram;
};

struct Placement {
  std::string what;
  uint64_t start = 0, end = 0;
};

struct Module {
  std::string name;
  std::span<const std::byte> bytes;
};

struct BootConfig {
  std::string image_name;  // for messages
  uint64_t memory_mib = 0;
  unsigned vcpus = 1;
  std::string cmdline;
  std::vector<Module> modules;
  // An emulated flash (xen-pflash) at [start, end): MMIO in the hole, nothing may be there.
  std::optional<Placement> flash;
  std::optional<GenerationId> generation_id;  // a VM Generation ID device and its ID
};

// Bytes pvhboot copies into the hole window itself (the window is zeroed first).
struct WindowCopy {
  uint64_t paddr = 0;
  std::span<const std::byte> bytes;
};

struct BootPlan {
  // Memory: what the domain gets and the map it is told.
  uint64_t memory_bytes = 0, lowmem_end = 0, highmem_end = 0, mmio_start = kMmioHoleStart;
  uint64_t maxmem_kib = 0, paging_pool_bytes = 0;
  unsigned vcpus = 1;
  std::vector<E820> e820;  // start_info's memory map and XENMEM_memory_map
  std::vector<Placement> placements;
  // The kernel: its PT_LOADs [load_start, load_end), its entry, its bytes.
  uint64_t load_start = 0, load_end = 0, entry = 0;
  std::span<const std::byte> image;
  std::optional<Placement> hole_window;  // set for a kernel in the MMIO hole
  std::optional<Placement> flash;        // an emulated flash (not RAM: an ioreq server serves it)
  std::vector<WindowCopy> window_copies;
  std::vector<std::byte> stub;  // what libxc loads instead, for a kernel in the hole
  AcpiLayout acpi;              // what libxc copies to 0xfc000000 and on
  std::optional<GenerationId> generation_id;
  // What start_info carries.
  std::string cmdline;
  std::vector<Module> modules;

  // What libxc is handed as the kernel: the image itself, or the entry stub.
  std::span<const std::byte> kernel() const { return stub.empty() ? image : std::span<const std::byte>(stub); }
};

// `elf` is `image`'s ELF header, read by elfwrap::parse_elf.
elfwrap::Expected<BootPlan> make_boot_plan(const elfwrap::ElfWrapper& elf, std::span<const std::byte> image, const BootConfig& config);
nlohmann::json to_json(const BootPlan& p);

// The entry stub: a PVH ELF32 of one page at kStubAddress whose code is
// "mov $entry, %eax; jmp *%eax" (32-bit flat protected mode, %ebx preserved).
std::vector<std::byte> entry_stub(uint32_t entry);

}  // namespace loader
