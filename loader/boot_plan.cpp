#include "loader/boot_plan.hpp"

#include <algorithm>

#include "elfwrap/elf_consts.hpp"
#include "elfwrap/elf_writer.hpp"

namespace loader {
namespace {

using elfwrap::align_down;
using elfwrap::align_up;
using elfwrap::Error;
using elfwrap::hex;
using elfwrap::overlaps;
using elfwrap::plain_error;

Error named(const BootConfig& c, const std::string& what) { return plain_error("'" + c.image_name + "': " + what); }

std::string size_text(uint64_t n) { return hex(n) + " bytes"; }

// The kernel's PT_LOADs, its entry, and where the entry's bytes are in the file.
elfwrap::Status read_kernel(const elfwrap::ElfWrapper& elf, std::span<const std::byte> image, const BootConfig& c, BootPlan& p) {
  if (image.size() > kMaxBlob) return named(c, "kernel of " + size_text(image.size()) + " is larger than libxenguest loads (1 GiB)");
  const auto entry = elf.phys32_entry();
  if (!entry) return named(c, "not a PVH kernel (no Xen PHYS32_ENTRY note); wrap a firmware image with elfwrap");
  p.entry = *entry;
  bool any = false, entry_in_file = false;
  for (const auto& s : elf.segments) {
    if (s.type != elfwrap::elf::kPtLoad || s.memsz == 0) continue;
    p.load_start = any ? std::min(p.load_start, s.paddr) : s.paddr;  // 0 is an address too
    p.load_end = std::max(p.load_end, s.paddr + s.memsz);            // no overflow: the ELF reader checked
    any = true;
    p.window_copies.push_back({s.paddr, image.subspan(s.offset, s.filesz)});
    if (p.entry < s.paddr || p.entry - s.paddr >= s.filesz) continue;
    entry_in_file = true;
    const uint64_t off = s.offset + (p.entry - s.paddr);
    if (off < elf.header_end)
      return named(c, "PHYS32_ENTRY " + hex(p.entry) + " is at file offset " + hex(off) + ", inside the ELF headers [0x0, " +
                          hex(elf.header_end) + "): there is no code there");
  }
  if (!any) return named(c, "no PT_LOAD with contents");
  if (!entry_in_file)
    return named(c, "PHYS32_ENTRY " + hex(p.entry) + " is not inside the file bytes of any PT_LOAD (the image spans [" + hex(p.load_start) +
                        ", " + hex(p.load_end) + "))");
  p.image = image;
  return elfwrap::ok();
}

// Where the kernel may go: guest RAM below the hole, or a window in the hole pvhboot populates.
elfwrap::Status place_kernel(const BootConfig& c, BootPlan& p) {
  const uint64_t a = p.load_start, b = p.load_end;
  const std::string range = "image [" + hex(a) + ", " + hex(b) + ")";
  if (overlaps(a, b, elfwrap::kSpecialPagesStart, elfwrap::kSpecialPagesEnd))
    return named(c, range + " overlaps Xen's special pages [0xfeff8000, 0xff000000)");
  if (overlaps(a, b, elfwrap::kLapicBase, elfwrap::kLapicBase + kPage))
    return named(c, range + " overlaps the local APIC page at 0xfee00000, which Xen emulates for PVH guests");
  if (a < p.mmio_start && b > p.mmio_start)
    return named(c, range +
                        " crosses the start of the MMIO hole at 0xfc000000 (a PVH guest has no RAM from there to 4 GiB): "
                        "load it below, or wholly inside the hole");
  if (b > k4GiB) return named(c, range + " ends above 4 GiB: libxc loads PVH kernels below 4 GiB");
  if (a >= p.mmio_start) {
    // Stock libxc cannot load there ("segment padding too large"): pvhboot fills the window.
    p.hole_window =
        Placement{"image " + c.image_name + " (MMIO hole window, populated by pvhboot)", align_down(a, kPage), align_up(b, kPage)};
    return elfwrap::ok();
  }
  if (b > p.lowmem_end)
    return named(c, range + " is not inside guest RAM [0x0, " + hex(p.lowmem_end) + "): give --memory at least " +
                        std::to_string(align_up(b, elfwrap::kMiB) >> 20) + " MiB");
  p.window_copies.clear();  // libxc loads it
  return elfwrap::ok();
}

// The XEN_ELFNOTE_GUEST_OS and XEN_ELFNOTE_SUPPORTED_FEATURES notes (xen/include/public/elfnote.h).
constexpr uint32_t kNoteGuestOs = 6, kNoteSupportedFeatures = 17, kFeatLinuxRsdpUnrestricted = 15;  // xen/include/public/features.h

// libxl puts the RSDP below 1 MiB for a Linux kernel that does not declare it reads rsdp_paddr
// wherever it is (XENFEAT_linux_rsdp_unrestricted, Linux 4.20 and later): such a kernel is
// refused rather than booted without the ACPI it would look for.
elfwrap::Status check_rsdp_reader(const elfwrap::ElfWrapper& elf, const BootConfig& c) {
  bool linux_os = false, unrestricted = false;
  for (const auto& n : elf.notes) {
    if (n.name != "Xen") continue;
    if (n.type == kNoteGuestOs) linux_os = std::string(n.desc.begin(), std::find(n.desc.begin(), n.desc.end(), 0)) == "linux";
    if (n.type == kNoteSupportedFeatures && n.value) unrestricted = (*n.value >> kFeatLinuxRsdpUnrestricted) & 1;
  }
  if (linux_os && !unrestricted)
    return named(c,
                 "a Linux kernel without XENFEAT_linux_rsdp_unrestricted in its SUPPORTED_FEATURES note (before Linux 4.20) "
                 "looks for the RSDP below 1 MiB, where pvhboot does not put it; boot it with xl");
  return elfwrap::ok();
}

elfwrap::Status layout_memory(const BootConfig& c, BootPlan& p) {
  EW_TRY(p.acpi, make_acpi(AcpiConfig{c.vcpus, c.generation_id}));
  p.generation_id = c.generation_id;
  const std::string acpi_range = "the ACPI tables [" + hex(p.acpi.start) + ", " + hex(p.acpi.end) + ")";
  if (p.hole_window && overlaps(p.hole_window->start, p.hole_window->end, p.acpi.start, p.acpi.end))
    return named(c, "image [" + hex(p.load_start) + ", " + hex(p.load_end) + ") overlaps " + acpi_range +
                        " that a PVH domain has at the start of the MMIO hole (as with xl)");
  p.e820.push_back({0, p.lowmem_end, kE820Ram});
  for (const auto& r : p.acpi.ranges) p.e820.push_back({r.addr, r.size, r.reserved ? kE820Reserved : kE820Acpi});
  p.e820.push_back({elfwrap::kSpecialPagesStart, elfwrap::kSpecialPagesEnd - elfwrap::kSpecialPagesStart, kE820Reserved});
  if (p.hole_window) p.e820.push_back({p.hole_window->start, p.hole_window->end - p.hole_window->start, kE820Reserved});
  if (p.highmem_end) p.e820.push_back({k4GiB, p.highmem_end - k4GiB, kE820Ram});
  std::sort(p.e820.begin(), p.e820.end(), [](const E820& a, const E820& b) { return a.addr < b.addr; });
  // libxl: max memory = target + 1 MiB slack; HAP paging pool = 4 * (256 * vcpus + 2 * MiB) KiB.
  // The hole window's and the ACPI pages come on top of the target (libxenguest populates the
  // ACPI pages; past max memory it would take them from the end of RAM instead).
  p.maxmem_kib = (c.memory_mib + 1) * 1024 + (p.hole_window ? (p.hole_window->end - p.hole_window->start) >> 10 : 0) +
                 ((p.acpi.end - p.acpi.start) >> 10);
  p.paging_pool_bytes = 4 * (256ull * c.vcpus + 2 * c.memory_mib) * 1024;
  return elfwrap::ok();
}

// After the kernel (or the stub): the modules, then start_info, as libxc allocates them.
elfwrap::Status place_after(const BootConfig& c, BootPlan& p) {
  p.placements.push_back({"image " + c.image_name, p.load_start, p.load_end});
  uint64_t cursor = align_up(p.load_end, kPage);
  if (p.hole_window) {
    if (kStubAddress + kPage > p.lowmem_end) return plain_error("the entry stub at " + hex(kStubAddress) + " is beyond guest RAM");
    p.stub = entry_stub(static_cast<uint32_t>(p.entry));
    p.placements.push_back({"entry stub (jumps to " + hex(p.entry) + ")", kStubAddress, kStubAddress + kPage});
    cursor = kStubAddress + kPage;
  }
  for (const auto& m : c.modules) {
    if (m.bytes.empty()) return plain_error("'" + m.name + "': module is empty: libxenguest refuses a zero-length module");
    if (m.bytes.size() > kMaxBlob)
      return plain_error("'" + m.name + "': module of " + size_text(m.bytes.size()) + " is larger than libxenguest loads (1 GiB)");
    p.placements.push_back({"module " + m.name, cursor, cursor + align_up(m.bytes.size(), kPage)});
    cursor += align_up(m.bytes.size(), kPage);
  }
  // hvm_start_info (56 bytes), module list (32 each), command line, memory map (24 each).
  const uint64_t info = 56 + 32 * c.modules.size() + c.cmdline.size() + 1 + 24 * p.e820.size();
  p.placements.push_back({"start_info", cursor, cursor + align_up(info, kPage)});
  cursor += align_up(info, kPage);
  if (cursor > p.lowmem_end)
    return plain_error("modules and start_info end at " + hex(cursor) + ", beyond guest RAM below 4 GiB (" + hex(p.lowmem_end) + ")");
  for (const auto& pl : p.placements)
    if (overlaps(pl.start, pl.end, elfwrap::kSpecialPagesStart, elfwrap::kSpecialPagesEnd))
      return plain_error(pl.what + " overlaps Xen's special pages");
  return elfwrap::ok();
}

}  // namespace

elfwrap::Expected<BootPlan> make_boot_plan(const elfwrap::ElfWrapper& elf, std::span<const std::byte> image, const BootConfig& c) {
  if (c.memory_mib < 16 || c.memory_mib > (1u << 20))
    return plain_error("--memory " + std::to_string(c.memory_mib) + " MiB is outside 16 MiB .. 1 TiB");
  if (c.vcpus < 1 || c.vcpus > kAcpiMaxVcpus)
    return plain_error("--vcpus " + std::to_string(c.vcpus) + " is outside 1.." + std::to_string(kAcpiMaxVcpus));
  BootPlan p;
  p.vcpus = c.vcpus;
  p.memory_bytes = c.memory_mib << 20;
  p.lowmem_end = std::min(p.memory_bytes, p.mmio_start);
  p.highmem_end = p.memory_bytes > p.mmio_start ? k4GiB + (p.memory_bytes - p.mmio_start) : 0;
  EW_CHECK(read_kernel(elf, image, c, p));
  EW_CHECK(check_rsdp_reader(elf, c));
  EW_CHECK(place_kernel(c, p));
  EW_CHECK(layout_memory(c, p));
  EW_CHECK(place_after(c, p));
  if (c.flash) {
    const Placement& f = *c.flash;
    if (f.start < p.mmio_start || f.end > k4GiB || f.end <= f.start)
      return plain_error("the flash [" + hex(f.start) + ", " + hex(f.end) + ") is not inside the MMIO hole [0xfc000000, 4 GiB)");
    if (p.hole_window && overlaps(f.start, f.end, p.hole_window->start, p.hole_window->end))
      return named(c, "the flash [" + hex(f.start) + ", " + hex(f.end) + ") would be where the image itself is loaded [" +
                          hex(p.hole_window->start) + ", " + hex(p.hole_window->end) +
                          "): the firmware's flash is its own FD base, so an image wrapped in the hole cannot have one");
    if (overlaps(f.start, f.end, p.acpi.start, p.acpi.end))
      return plain_error("the flash [" + hex(f.start) + ", " + hex(f.end) + ") overlaps the ACPI tables [" + hex(p.acpi.start) + ", " +
                         hex(p.acpi.end) + ")");
    p.flash = f;
    p.placements.push_back(f);
  }
  for (const auto& m : p.acpi.modules) p.placements.push_back({m.what, m.address, m.address + m.bytes.size()});
  p.cmdline = c.cmdline;
  p.modules = c.modules;
  return p;
}

nlohmann::json to_json(const BootPlan& p) {
  nlohmann::json j = {{"memory_bytes", p.memory_bytes},
                      {"lowmem_end", p.lowmem_end},
                      {"highmem_end", p.highmem_end},
                      {"mmio_start", p.mmio_start},
                      {"vcpus", p.vcpus},
                      {"entry", p.entry},
                      {"maxmem_kib", p.maxmem_kib},
                      {"paging_pool_bytes", p.paging_pool_bytes}};
  j["e820"] = nlohmann::json::array();
  for (const auto& e : p.e820)
    j["e820"].push_back({{"addr", e.addr},
                         {"size", e.size},
                         {"type", e.type == kE820Ram    ? "ram"
                                  : e.type == kE820Acpi ? "acpi"
                                                        : "reserved"}});
  j["placements"] = nlohmann::json::array();
  for (const auto& pl : p.placements) j["placements"].push_back({{"what", pl.what}, {"start", pl.start}, {"end", pl.end}});
  j["hole_window"] = p.hole_window ? nlohmann::json{{"start", p.hole_window->start}, {"end", p.hole_window->end}} : nlohmann::json(nullptr);
  nlohmann::json acpi = {{"rsdp", p.acpi.rsdp}, {"start", p.acpi.start}, {"end", p.acpi.end}};
  acpi["tables"] = nlohmann::json::array();
  for (const auto& t : p.acpi.tables) acpi["tables"].push_back({{"signature", t.signature}, {"address", t.address}, {"length", t.length}});
  acpi["generation_id"] = p.generation_id ? nlohmann::json(generation_id_str(*p.generation_id)) : nlohmann::json(nullptr);
  acpi["generation_id_address"] = p.acpi.generation_id_address ? nlohmann::json(*p.acpi.generation_id_address) : nlohmann::json(nullptr);
  j["acpi"] = acpi;
  j["flash"] = p.flash ? nlohmann::json{{"start", p.flash->start}, {"end", p.flash->end}} : nlohmann::json(nullptr);
  return j;
}

std::vector<std::byte> entry_stub(uint32_t entry) {
  const uint64_t header = elfwrap::elf_header_size(32, true);
  elfwrap::ElfHeaderSpec spec;
  spec.elf_class = 32;
  spec.load_address = kStubAddress;
  spec.image_size = header + 7;
  spec.entry = kStubAddress + header;
  spec.phys32_entry = static_cast<uint32_t>(kStubAddress + header);
  std::vector<std::byte> out = elfwrap::build_elf_header(spec);
  const uint8_t code[7] = {0xb8,
                           static_cast<uint8_t>(entry),
                           static_cast<uint8_t>(entry >> 8),
                           static_cast<uint8_t>(entry >> 16),
                           static_cast<uint8_t>(entry >> 24),
                           0xff,
                           0xe0};  // mov $entry, %eax; jmp *%eax
  for (uint8_t c : code) out.push_back(static_cast<std::byte>(c));
  return out;
}

}  // namespace loader
