// The guest physical layout of a PVH domain, computed the way libxl does it for type="pvh"
// (pure: no hypervisor). The backend (xen_backend.hpp) executes it; unit tests check it.
//
//   RAM [0, lowmem_end)              lowmem_end = min(memory, mmio_start)
//   MMIO hole [0xfc000000, 4 GiB)    no RAM; Xen's special pages at 0xfeff8000-0xfeffffff
//   RAM [4 GiB, highmem_end)         the memory that did not fit below the hole
//
// libxc loads the kernel at its PT_LOAD address and allocates, after it, the modules and one
// start-info area (hvm_start_info, module list, command line, memory map).
//
// An image in the MMIO hole (e.g. 0xffe00000-4 GiB, where hvmloader puts OVMF): libxc 4.17
// cannot load it (it pads from 0 to the load address against the domain's RAM), so the plan
// has pvhboot populate that window itself (extra pages, counted in max memory, reserved in the
// memory map) and hand libxc a one-page entry stub at 1 MiB instead: a PVH ELF whose code
// jumps to the image's PHYS32_ENTRY with %ebx (the hvm_start_info address) untouched. The
// modules and start_info follow the stub, in low RAM.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "elfwrap/error.hpp"

namespace loader {

inline constexpr uint64_t kMmioStart = 0xfc000000;
inline constexpr uint64_t kSpecialStart = 0xfeff8000, kSpecialEnd = 0xff000000;  // X86_HVM special pages
inline constexpr uint64_t k4GiB = 0x100000000ull, kPage = 0x1000;
inline constexpr uint32_t kE820Ram = 1, kE820Reserved = 2;
inline constexpr uint64_t kStubAddress = 0x100000;  // the entry stub for an image in the hole

struct E820 {
  uint64_t addr = 0, size = 0;
  uint32_t type = kE820Ram;
};

struct Placement {
  std::string what;
  uint64_t start = 0, end = 0;
};

struct PlanInput {
  std::string image_name;
  uint64_t load_start = 0, load_end = 0;  // the image's PT_LOAD in guest physical memory
  uint64_t entry = 0;                     // PHYS32_ENTRY
  uint64_t memory_mib = 0;
  unsigned vcpus = 1;
  std::string cmdline;
  std::vector<std::pair<std::string, uint64_t>> modules;  // name, size
};

struct Plan {
  uint64_t memory_bytes = 0, lowmem_end = 0, highmem_end = 0, mmio_start = kMmioStart;
  unsigned vcpus = 1;
  uint64_t entry = 0;
  uint64_t maxmem_kib = 0, paging_pool_bytes = 0;
  std::vector<E820> e820;          // handed to the guest (start_info memmap / XENMEM_memory_map)
  std::vector<Placement> placements;
  // Set for an image in the MMIO hole: the page-aligned window pvhboot populates and fills, and
  // the stub libxc loads instead (at kStubAddress; its code jumps to `entry`).
  std::optional<Placement> hole_window;
};

elfwrap::Expected<Plan> make_plan(const PlanInput& in);
nlohmann::json to_json(const Plan& p);

}  // namespace loader
