// The guest physical layout of a PVH domain, computed the way libxl does it for type="pvh"
// (pure: no hypervisor). The backend (xen_backend.hpp) executes it; unit tests check it.
//
//   RAM [0, lowmem_end)              lowmem_end = min(memory, mmio_start)
//   MMIO hole [0xfc000000, 4 GiB)    no RAM; Xen's special pages at 0xfeff8000-0xfeffffff
//   RAM [4 GiB, highmem_end)         the memory that did not fit below the hole
//
// libxc loads the kernel at its PT_LOAD address and allocates, after it, the modules and one
// start-info area (hvm_start_info, module list, command line, memory map).
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
};

elfwrap::Expected<Plan> make_plan(const PlanInput& in);
nlohmann::json to_json(const Plan& p);

}  // namespace loader
