// pvhboot's pure plan: the PVH guest layout libxl would give, and its validation.
#include <doctest/doctest.h>

#include "loader/plan.hpp"

using namespace loader;

namespace {
PlanInput ovmf(uint64_t mib) {
  PlanInput in;
  in.image_name = "ovmf.elf";
  in.load_start = 0x100000;
  in.load_end = 0x300000;
  in.entry = 0x2fffd0;
  in.memory_mib = mib;
  return in;
}
// ovmf(mib) with the image at [start, end) and its entry at `entry`.
PlanInput placed(uint64_t mib, uint64_t start, uint64_t end, uint64_t entry) {
  PlanInput in = ovmf(mib);
  in.load_start = start;
  in.load_end = end;
  in.entry = entry;
  return in;
}
std::string err(const PlanInput& in) {
  auto p = make_plan(in);
  REQUIRE_FALSE(p);
  return elfwrap::to_string(p.error());
}
}  // namespace

TEST_CASE("256 MiB: all RAM below the hole, special pages reserved, image then start_info") {
  auto p = make_plan(ovmf(256));
  REQUIRE(p);
  CHECK(p->lowmem_end == 0x10000000);
  CHECK(p->highmem_end == 0);
  REQUIRE(p->e820.size() == 2);
  CHECK(p->e820[0].addr == 0);
  CHECK(p->e820[0].size == 0x10000000);
  CHECK(p->e820[0].type == kE820Ram);
  CHECK(p->e820[1].addr == 0xfeff8000);
  CHECK(p->e820[1].size == 0x8000);
  CHECK(p->e820[1].type == kE820Reserved);
  REQUIRE(p->placements.size() == 2);
  CHECK(p->placements[0].start == 0x100000);
  CHECK(p->placements[1].what == "start_info");
  CHECK(p->placements[1].start == 0x300000);
  CHECK(p->maxmem_kib == 257 * 1024);
  CHECK(p->paging_pool_bytes == 4 * (256 + 2 * 256) * 1024);
}

TEST_CASE("5 GiB: low memory stops at the MMIO hole, the rest goes above 4 GiB") {
  auto p = make_plan(ovmf(5120));
  REQUIRE(p);
  CHECK(p->lowmem_end == 0xfc000000);
  CHECK(p->highmem_end == 0x100000000ull + (5120ull << 20) - 0xfc000000);
  REQUIRE(p->e820.size() == 3);
  CHECK(p->e820[2].addr == 0x100000000ull);
  CHECK(p->e820[0].size + p->e820[2].size == 5120ull << 20);  // totals consistent
}

TEST_CASE("modules and the command line are placed after the image, page aligned") {
  PlanInput in = ovmf(256);
  in.cmdline = "hello";
  in.modules = {{"a", 0x1234}, {"b", 0x1000}};
  auto p = make_plan(in);
  REQUIRE(p);
  REQUIRE(p->placements.size() == 4);
  CHECK(p->placements[1].start == 0x300000);
  CHECK(p->placements[1].end == 0x302000);
  CHECK(p->placements[2].start == 0x302000);
  CHECK(p->placements[3].start == 0x303000);
}

TEST_CASE("plan errors") {
  const PlanInput small = placed(16, 0x1000000, 0x1200000, 0x11fffd0);
  CHECK(err(small) == "'ovmf.elf': image [0x1000000, 0x1200000) is not inside guest RAM [0x0, 0x1000000): give --memory at least 18 MiB");
  const PlanInput across = placed(256, 0xfff0000, 0x10100000, 0x100fffd0);  // starts in RAM, ends in the hole
  CHECK(err(across) == "'ovmf.elf': image [0xfff0000, 0x10100000) is not inside guest RAM [0x0, 0x10000000): give --memory at least 257 MiB");
  const PlanInput above = placed(256, 0xfff00000, 0x100100000ull, 0xfff00000);
  CHECK(err(above) == "'ovmf.elf': image [0xfff00000, 0x100100000) is not inside guest RAM [0x0, 0x10000000): give --memory at least 4097 MiB");
  const PlanInput special = placed(256, 0xfeff0000, 0xff000000, 0xfeff0000);
  CHECK(err(special) == "'ovmf.elf': image [0xfeff0000, 0xff000000) overlaps Xen's special pages [0xfeff8000, 0xff000000)");
  PlanInput entry = ovmf(256);
  entry.entry = 0x400000;
  CHECK(err(entry) == "'ovmf.elf': PHYS32_ENTRY 0x400000 is outside the loaded image [0x100000, 0x300000)");
  CHECK(err(ovmf(8)) == "--memory 8 MiB is outside 16 MiB .. 1 TiB");
  PlanInput cpus = ovmf(256);
  cpus.vcpus = 0;
  CHECK(err(cpus) == "--vcpus 0 is outside 1..128");
  PlanInput mods = ovmf(16);
  mods.modules = {{"big", 0xe00000}};
  CHECK(err(mods) == "modules and start_info end at 0x1101000, beyond guest RAM below 4 GiB (0x1000000)");
}

TEST_CASE("an image in the MMIO hole: a window pvhboot populates, reserved; libxc gets the stub at 1 MiB") {
  PlanInput in = placed(256, 0xffe00000, 0x100000000ull, 0xffffffd0);
  in.cmdline = "x";
  in.modules = {{"m", 0x10}};
  auto p = make_plan(in);
  REQUIRE(p);
  REQUIRE(p->hole_window);
  CHECK(p->hole_window->start == 0xffe00000);
  CHECK(p->hole_window->end == 0x100000000ull);
  REQUIRE(p->e820.size() == 3);
  CHECK(p->e820[2].addr == 0xffe00000);
  CHECK(p->e820[2].size == 0x200000);
  CHECK(p->e820[2].type == kE820Reserved);
  CHECK(p->maxmem_kib == 257 * 1024 + 2048);  // the window's pages on top of the target
  REQUIRE(p->placements.size() == 4);
  CHECK(p->placements[1].what == "entry stub (jumps to 0xffffffd0)");
  CHECK(p->placements[1].start == kStubAddress);
  CHECK(p->placements[2].start == 0x101000);  // module after the stub
  CHECK(p->placements[3].what == "start_info");
  CHECK(p->placements[3].start == 0x102000);
  // Not page aligned: the window is the pages it touches.
  in.load_start = 0xfc000800;
  in.load_end = 0xfc001800;
  in.entry = 0xfc000800;
  p = make_plan(in);
  REQUIRE(p);
  CHECK(p->hole_window->start == 0xfc000000);
  CHECK(p->hole_window->end == 0xfc002000);
  // Below 4 GiB but on the special pages: still refused.
  in.load_start = 0xfeff0000;
  in.load_end = 0xfeff9000;
  in.entry = 0xfeff0000;
  CHECK(err(in) == "'ovmf.elf': image [0xfeff0000, 0xfeff9000) overlaps Xen's special pages [0xfeff8000, 0xff000000)");
  // A plan without the hole has no window.
  CHECK_FALSE(make_plan(ovmf(256))->hole_window);
}
