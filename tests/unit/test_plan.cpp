// pvhboot's pure boot plan: the PVH guest layout libxl would give, and every rule that refuses
// a kernel or a configuration before anything is done. Inputs are ELF bytes built here.
#include <doctest/doctest.h>

#include "loader/boot_plan.hpp"
#include "tests/fixture/builder.hpp"

using namespace loader;

namespace {

// A 2 MiB kernel at [start, start + 2 MiB) whose entry is `entry` (default: end - 0x30).
fx::Bytes kernel_at(uint64_t start, std::optional<uint64_t> entry = std::nullopt, uint64_t size = 0x200000) {
  return fx::elf_kernel({{0, start, size, size}}, static_cast<uint32_t>(entry.value_or(start + size - 0x30)), size);
}

elfwrap::Expected<BootPlan> plan_of(const fx::Bytes& k, BootConfig c) {
  std::vector<elfwrap::Warning> w;
  auto elf = elfwrap::parse_elf(k, w);
  REQUIRE(elf);
  if (c.image_name.empty()) c.image_name = "k.elf";
  return make_boot_plan(*elf, k, c);
}

BootConfig mem(uint64_t mib) {
  BootConfig c;
  c.memory_mib = mib;
  return c;
}

std::string err(const fx::Bytes& k, BootConfig c) {
  auto p = plan_of(k, std::move(c));
  REQUIRE_FALSE(p);
  return elfwrap::to_string(p.error());
}

}  // namespace

TEST_CASE("256 MiB: all RAM below the hole, special pages reserved, image then start_info") {
  const fx::Bytes k = kernel_at(0x100000);
  auto p = plan_of(k, mem(256));
  REQUIRE(p);
  CHECK(p->lowmem_end == 0x10000000);
  CHECK(p->highmem_end == 0);
  REQUIRE(p->e820.size() == 3);
  CHECK(p->e820[0].addr == 0);
  CHECK(p->e820[0].size == 0x10000000);
  CHECK(p->e820[0].type == kE820Ram);
  CHECK(p->e820[1].addr == 0xfc000000);  // ACPI: information page, tables, RSDP
  CHECK(p->e820[1].size == p->acpi.end - p->acpi.start);
  CHECK(p->e820[1].type == kE820Acpi);
  CHECK(p->e820[2].addr == 0xfeff8000);
  CHECK(p->e820[2].size == 0x8000);
  CHECK(p->e820[2].type == kE820Reserved);
  REQUIRE(p->placements.size() == 5);
  CHECK(p->placements[0].start == 0x100000);
  CHECK(p->placements[1].what == "start_info");
  CHECK(p->placements[1].start == 0x300000);
  CHECK(p->placements[2].what == "RSDP");
  CHECK(p->placements[2].start == p->acpi.rsdp);
  CHECK(p->maxmem_kib == 257 * 1024 + ((p->acpi.end - p->acpi.start) >> 10));
  CHECK(p->paging_pool_bytes == 4 * (256 + 2 * 256) * 1024);
  CHECK(p->entry == 0x2fffd0);
  // What libxc is handed is the very bytes the plan read, not a path it reads again.
  CHECK(p->kernel().data() == k.data());
  CHECK(p->kernel().size() == k.size());
  CHECK(p->window_copies.empty());
}

TEST_CASE("5 GiB: low memory stops at the MMIO hole, the rest goes above 4 GiB") {
  auto p = plan_of(kernel_at(0x100000), mem(5120));
  REQUIRE(p);
  CHECK(p->lowmem_end == 0xfc000000);
  CHECK(p->highmem_end == 0x100000000ull + (5120ull << 20) - 0xfc000000);
  REQUIRE(p->e820.size() == 4);
  CHECK(p->e820[3].addr == 0x100000000ull);
  CHECK(p->e820[0].size + p->e820[3].size == 5120ull << 20);  // totals consistent
}

TEST_CASE("modules and the command line are placed after the image, page aligned; modules are the bytes given") {
  const fx::Bytes a = fx::filled(0x1234), b = fx::filled(0x1000);
  BootConfig c = mem(256);
  c.cmdline = "hello";
  c.modules = {{"a", a}, {"b", b}};
  auto p = plan_of(kernel_at(0x100000), c);
  REQUIRE(p);
  REQUIRE(p->placements.size() == 7);  // image, a, b, start_info, then RSDP, information page, tables
  CHECK(p->placements[1].start == 0x300000);
  CHECK(p->placements[1].end == 0x302000);
  CHECK(p->placements[2].start == 0x302000);
  CHECK(p->placements[3].start == 0x303000);
  REQUIRE(p->modules.size() == 2);
  CHECK(p->modules[0].bytes.data() == a.data());
  CHECK(p->cmdline == "hello");
}

TEST_CASE("plan errors") {
  CHECK(err(kernel_at(0x1000000), mem(16)) ==
        "'k.elf': image [0x1000000, 0x1200000) is not inside guest RAM [0x0, 0x1000000): give --memory at least 18 MiB");
  CHECK(err(kernel_at(0xfeff0000 - 0x1f8000), mem(256)) ==
        "'k.elf': image [0xfedf8000, 0xfeff8000) overlaps the local APIC page at 0xfee00000, which Xen emulates for PVH guests");
  CHECK(err(kernel_at(0xfeef0000), mem(256)) ==
        "'k.elf': image [0xfeef0000, 0xff0f0000) overlaps Xen's special pages [0xfeff8000, 0xff000000)");
  CHECK(err(kernel_at(0x100000, 0x400000), mem(256)) ==
        "'k.elf': PHYS32_ENTRY 0x400000 is not inside the file bytes of any PT_LOAD (the image spans [0x100000, 0x300000))");
  CHECK(err(kernel_at(0x100000), mem(8)) == "--memory 8 MiB is outside 16 MiB .. 1 TiB");
  BootConfig cpus = mem(256);
  cpus.vcpus = 0;
  CHECK(err(kernel_at(0x100000), cpus) == "--vcpus 0 is outside 1..128");
  const fx::Bytes big = fx::filled(0xe00000);
  BootConfig mods = mem(16);
  mods.modules = {{"big", big}};
  CHECK(err(kernel_at(0x100000), mods) == "modules and start_info end at 0x1101000, beyond guest RAM below 4 GiB (0x1000000)");
}

TEST_CASE("defect 10: the entry must be code of a PT_LOAD: not its ELF headers, not a gap between PT_LOADs") {
  // The entry at the ELF header: the PT_LOAD maps the file from offset 0.
  CHECK(err(kernel_at(0x100000, 0x100010), mem(256)) ==
        "'k.elf': PHYS32_ENTRY 0x100010 is at file offset 0x10, inside the ELF headers [0x0, 0xc4): there is no code there");
  // Two PT_LOADs with a hole between them, the entry in the hole.
  const fx::Bytes two = fx::elf_kernel({{0, 0x100000, 0x1000, 0x1000}, {0x1000, 0x200000, 0x1000, 0x1000}}, 0x180000, 0x2000);
  CHECK(err(two, mem(256)) ==
        "'k.elf': PHYS32_ENTRY 0x180000 is not inside the file bytes of any PT_LOAD (the image spans [0x100000, 0x201000))");
  // ... or in the zero-filled part of one (p_memsz beyond p_filesz).
  const fx::Bytes bss = fx::elf_kernel({{0, 0x100000, 0x1000, 0x3000}}, 0x102000, 0x1000);
  CHECK(err(bss, mem(256)) ==
        "'k.elf': PHYS32_ENTRY 0x102000 is not inside the file bytes of any PT_LOAD (the image spans [0x100000, 0x103000))");
  // The entry in the second PT_LOAD's code is fine.
  const fx::Bytes ok = fx::elf_kernel({{0, 0x100000, 0x1000, 0x1000}, {0x1000, 0x200000, 0x1000, 0x1000}}, 0x200010, 0x2000);
  CHECK(plan_of(ok, mem(256)));
}

TEST_CASE("defect 12: what libxenguest cannot load is refused by the plan") {
  const fx::Bytes empty;
  BootConfig c = mem(256);
  c.modules = {{"empty.bin", empty}};
  CHECK(err(kernel_at(0x100000), c) == "'empty.bin': module is empty: libxenguest refuses a zero-length module");
  // Sizes only: spans over memory that is never read.
  const fx::Bytes k = kernel_at(0x100000);
  std::vector<elfwrap::Warning> w;
  auto elf = elfwrap::parse_elf(k, w);
  REQUIRE(elf);
  const std::span<const std::byte> huge(k.data(), (1ull << 30) + 1);
  c.modules = {{"huge.bin", huge}};
  auto p = make_boot_plan(*elf, k, c);
  REQUIRE_FALSE(p);
  CHECK(elfwrap::to_string(p.error()) == "'huge.bin': module of 0x40000001 bytes is larger than libxenguest loads (1 GiB)");
  p = make_boot_plan(*elf, huge, mem(256));
  REQUIRE_FALSE(p);
  CHECK(elfwrap::to_string(p.error()) == "'': kernel of 0x40000001 bytes is larger than libxenguest loads (1 GiB)");
}

TEST_CASE("defect 19: an image across the start of the MMIO hole is named for what it is") {
  CHECK(err(kernel_at(0xfbf00000), mem(8192)) ==
        "'k.elf': image [0xfbf00000, 0xfc100000) crosses the start of the MMIO hole at 0xfc000000 (a PVH guest has no RAM "
        "from there to 4 GiB): load it below, or wholly inside the hole");
  CHECK(err(kernel_at(0xfff00000, 0xfff01000), mem(256)) ==
        "'k.elf': image [0xfff00000, 0x100100000) ends above 4 GiB: libxc loads PVH kernels below 4 GiB");
}

TEST_CASE("an image in the MMIO hole: a window pvhboot populates, reserved; libxc gets the stub at 1 MiB") {
  const fx::Bytes k = kernel_at(0xffe00000), m = fx::filled(0x10);
  BootConfig c = mem(256);
  c.cmdline = "x";
  c.modules = {{"m", m}};
  auto p = plan_of(k, c);
  REQUIRE(p);
  REQUIRE(p->hole_window);
  CHECK(p->hole_window->start == 0xffe00000);
  CHECK(p->hole_window->end == 0x100000000ull);
  REQUIRE(p->e820.size() == 4);
  CHECK(p->e820[3].addr == 0xffe00000);
  CHECK(p->e820[3].size == 0x200000);
  CHECK(p->e820[3].type == kE820Reserved);
  // The window's and the ACPI pages on top of the target.
  CHECK(p->maxmem_kib == 257 * 1024 + 2048 + ((p->acpi.end - p->acpi.start) >> 10));
  REQUIRE(p->placements.size() == 7);
  CHECK(p->placements[1].what == "entry stub (jumps to 0xffffffd0)");
  CHECK(p->placements[1].start == kStubAddress);
  CHECK(p->placements[2].start == 0x101000);  // module after the stub
  CHECK(p->placements[3].what == "start_info");
  CHECK(p->placements[3].start == 0x102000);
  // libxc is handed the stub; the PT_LOAD's bytes go into the window.
  CHECK(p->kernel().data() == p->stub.data());
  CHECK(p->stub == entry_stub(0xffffffd0));
  REQUIRE(p->window_copies.size() == 1);
  CHECK(p->window_copies[0].paddr == 0xffe00000);
  CHECK(p->window_copies[0].bytes.data() == k.data());
  CHECK(p->window_copies[0].bytes.size() == 0x200000);
  // Not page aligned: the window is the pages it touches.
  const fx::Bytes odd = fx::elf_kernel({{0, 0xfd000800, 0x1000, 0x1000}}, 0xfd000900, 0x1000);
  p = plan_of(odd, mem(256));
  REQUIRE(p);
  CHECK(p->hole_window->start == 0xfd000000);
  CHECK(p->hole_window->end == 0xfd002000);
  // A plan without the hole has no window and no stub.
  p = plan_of(kernel_at(0x100000), mem(256));
  CHECK_FALSE(p->hole_window);
  CHECK(p->stub.empty());
}
