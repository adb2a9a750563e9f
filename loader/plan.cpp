#include "loader/plan.hpp"

namespace loader {
namespace {

using elfwrap::Error;
using elfwrap::hex;
using elfwrap::plain_error;

uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }
uint64_t page_down(uint64_t v) { return v & ~(kPage - 1); }
bool overlaps(uint64_t a, uint64_t b, uint64_t c, uint64_t d) { return a < d && c < b; }

void layout_memory(const PlanInput& in, Plan& p) {
  p.memory_bytes = in.memory_mib << 20;
  p.lowmem_end = std::min(p.memory_bytes, kMmioStart);
  p.highmem_end = p.memory_bytes > kMmioStart ? k4GiB + (p.memory_bytes - kMmioStart) : 0;
  p.e820.push_back({0, p.lowmem_end, kE820Ram});
  p.e820.push_back({kSpecialStart, kSpecialEnd - kSpecialStart, kE820Reserved});
  if (p.hole_window) p.e820.push_back({p.hole_window->start, p.hole_window->end - p.hole_window->start, kE820Reserved});
  if (p.highmem_end) p.e820.push_back({k4GiB, p.highmem_end - k4GiB, kE820Ram});
  // libxl: max memory = target + 1 MiB slack; HAP paging pool = 4 * (256 * vcpus + 2 * MiB) KiB.
  // The hole window's pages come on top of the target.
  p.maxmem_kib = (in.memory_mib + 1) * 1024 + (p.hole_window ? (p.hole_window->end - p.hole_window->start) >> 10 : 0);
  p.paging_pool_bytes = 4 * (256ull * in.vcpus + 2 * in.memory_mib) * 1024;
}

elfwrap::Status check_kernel(const PlanInput& in, Plan& p) {
  const uint64_t a = in.load_start, b = in.load_end;
  if (b <= a) return plain_error("'" + in.image_name + "': empty PT_LOAD");
  if (in.entry < a || in.entry >= b)
    return plain_error("'" + in.image_name + "': PHYS32_ENTRY " + hex(in.entry) + " is outside the loaded image [" + hex(a) + ", " + hex(b) + ")");
  if (overlaps(a, b, kSpecialStart, kSpecialEnd))
    return plain_error("'" + in.image_name + "': image [" + hex(a) + ", " + hex(b) + ") overlaps Xen's special pages [0xfeff8000, 0xff000000)");
  if (b <= p.lowmem_end) return elfwrap::ok();
  if (a >= kMmioStart && b <= k4GiB) {
    // Stock libxc cannot load there ("segment padding too large"): pvhboot fills the window.
    p.hole_window = Placement{"image " + in.image_name + " (MMIO hole window, populated by pvhboot)", page_down(a), page_up(b)};
    return elfwrap::ok();
  }
  return plain_error("'" + in.image_name + "': image [" + hex(a) + ", " + hex(b) + ") is not inside guest RAM [0x0, " + hex(p.lowmem_end) +
                     "): give --memory at least " + std::to_string((b + (1 << 20) - 1) >> 20) + " MiB");
}

}  // namespace

elfwrap::Expected<Plan> make_plan(const PlanInput& in) {
  Plan p;
  if (in.memory_mib < 16 || in.memory_mib > (1u << 20))
    return plain_error("--memory " + std::to_string(in.memory_mib) + " MiB is outside 16 MiB .. 1 TiB");
  if (in.vcpus < 1 || in.vcpus > 128) return plain_error("--vcpus " + std::to_string(in.vcpus) + " is outside 1..128");
  p.vcpus = in.vcpus;
  p.entry = in.entry;
  p.lowmem_end = std::min(in.memory_mib << 20, kMmioStart);
  EW_CHECK(check_kernel(in, p));
  layout_memory(in, p);
  p.placements.push_back({"image " + in.image_name, in.load_start, in.load_end});
  uint64_t cursor = page_up(in.load_end);
  if (p.hole_window) {
    p.placements.push_back({"entry stub (jumps to " + hex(in.entry) + ")", kStubAddress, kStubAddress + kPage});
    cursor = kStubAddress + kPage;
    if (cursor > p.lowmem_end) return plain_error("the entry stub at " + hex(kStubAddress) + " is beyond guest RAM");
  }
  for (const auto& [name, size] : in.modules) {
    p.placements.push_back({"module " + name, cursor, cursor + page_up(size)});
    cursor += page_up(size);
  }
  // hvm_start_info (56 bytes), module list (32 each), command line, memory map (24 each).
  const uint64_t info = 56 + 32 * in.modules.size() + in.cmdline.size() + 1 + 24 * p.e820.size();
  p.placements.push_back({"start_info", cursor, cursor + page_up(info)});
  cursor += page_up(info);
  if (cursor > p.lowmem_end)
    return plain_error("modules and start_info end at " + hex(cursor) + ", beyond guest RAM below 4 GiB (" + hex(p.lowmem_end) + ")");
  for (const auto& pl : p.placements)
    if (overlaps(pl.start, pl.end, kSpecialStart, kSpecialEnd))
      return plain_error(pl.what + " overlaps Xen's special pages");
  return p;
}

nlohmann::json to_json(const Plan& p) {
  nlohmann::json j = {{"memory_bytes", p.memory_bytes}, {"lowmem_end", p.lowmem_end}, {"highmem_end", p.highmem_end},
                      {"mmio_start", p.mmio_start}, {"vcpus", p.vcpus}, {"entry", p.entry},
                      {"maxmem_kib", p.maxmem_kib}, {"paging_pool_bytes", p.paging_pool_bytes}};
  j["e820"] = nlohmann::json::array();
  for (const auto& e : p.e820)
    j["e820"].push_back({{"addr", e.addr}, {"size", e.size}, {"type", e.type == kE820Ram ? "ram" : "reserved"}});
  j["placements"] = nlohmann::json::array();
  for (const auto& pl : p.placements) j["placements"].push_back({{"what", pl.what}, {"start", pl.start}, {"end", pl.end}});
  j["hole_window"] = p.hole_window ? nlohmann::json{{"start", p.hole_window->start}, {"end", p.hole_window->end}} : nlohmann::json(nullptr);
  return j;
}

}  // namespace loader
