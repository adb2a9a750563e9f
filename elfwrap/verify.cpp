#include "elfwrap/verify.hpp"

#include "elfwrap/elf_consts.hpp"
#include "elfwrap/reader.hpp"
#include "elfwrap/wrap.hpp"

namespace elfwrap {
namespace {

constexpr uint64_t kQemuBiosStart = 0xfffc0000;  // 256 KiB SeaBIOS mapped below 4 GiB
constexpr uint64_t kQemuIsaBios = 0xe0000;       // ... and its alias below 1 MiB

const ElfSegment* whole_image_load(const ElfWrapper& w) {
  for (const auto& s : w.segments)
    if (s.type == elf::kPtLoad && s.filesz > 0) return &s;
  return nullptr;
}

// The PHYS32_ENTRY a loader finds when it walks the notes of each PT_NOTE with `step` (the
// padding rule it uses) and keeps the last hit; nullopt when none.
template <class Step>
std::optional<uint64_t> find_entry(const ElfWrapper& w, const ByteView& v, bool skip_offset0, bool check_name, Step step) {
  std::optional<uint64_t> found;
  for (const auto& s : w.segments) {
    if (s.type != elf::kPtNote || (skip_offset0 && s.offset == 0)) continue;
    auto seg = v.sub(s.offset, s.filesz);
    if (!seg) continue;
    for (uint64_t off = 0, n = 0; off + 12 <= seg->size() && n < elf::kMaxNotes; ++n) {
      const uint32_t namesz = *seg->le<uint32_t>(off), descsz = *seg->le<uint32_t>(off + 4), type = *seg->le<uint32_t>(off + 8);
      const uint64_t desc = off + 12 + step(namesz, s.align);
      const bool name_ok = !check_name || (namesz == 4 && seg->matches(off + 12, std::string_view("Xen\0", 4)));
      if (type == elf::kXenElfnotePhys32Entry && name_ok && descsz >= 4 && seg->contains(desc, 4)) found = *seg->le<uint32_t>(desc);
      const uint64_t next = desc + step(descsz, s.align);
      if (next <= off) break;
      off = next;
    }
  }
  return found;
}

uint64_t align4(uint64_t v, uint64_t) { return align_up(v, 4); }
uint64_t align_by(uint64_t v, uint64_t a) { return a <= 1 ? v : (v + a - 1) / a * a; }

// Common to the PVH loaders: the whole image is loaded and the entry is the firmware's.
void check_pvh_shape(const Image& img, const ByteView& v, std::optional<uint64_t> entry, Verdict& d) {
  const ElfSegment* load = whole_image_load(*img.elf);
  if (!load) {
    d.problems.push_back("no PT_LOAD with file contents");
    return;
  }
  if (load->offset != 0 || load->filesz != img.size)
    d.problems.push_back("PT_LOAD maps file bytes [" + hex(load->offset) + ", " + hex(load->offset + load->filesz) + ") of the " +
                         hex(img.size) + "-byte image: the firmware must be loaded whole (its SEC and reset vector are at the top)");
  d.notes.push_back("loads the image at " + hex(load->paddr) + "-" + hex(load->paddr + load->memsz));
  if (!entry) {
    d.problems.push_back("no Xen PHYS32_ENTRY note it can read: no PVH entry");
    return;
  }
  d.entry = entry;
  if (*entry < load->paddr || *entry - load->paddr >= load->filesz) {
    d.problems.push_back("PVH entry " + hex(*entry) + " is outside the loaded image");
    return;
  }
  const uint64_t off = load->offset + (*entry - load->paddr);
  if (v.all_equal(off, 16, 0xff))
    d.problems.push_back("PVH entry " + hex(*entry) + " (file offset " + hex(off) + ") points at erased flash (0xff bytes)");
  else if (img.reset_vector.pvh_entry_offset && off != *img.reset_vector.pvh_entry_offset)
    d.problems.push_back("PVH entry " + hex(*entry) + " is at file offset " + hex(off) + ", but the firmware's PVH entry is at " +
                         hex(*img.reset_vector.pvh_entry_offset) + " (end - 0x30)");
  d.notes.push_back("starts the firmware at " + hex(*entry) + " in 32-bit mode (PVH)");
}

void xen_rules(const Image& img, const ByteView& v, const XenParseFacts* x, const std::string& missing, Verdict& d) {
  const auto entry = find_entry(*img.elf, v, true, true, align4);
  check_pvh_shape(img, v, entry, d);
  const ElfSegment* load = whole_image_load(*img.elf);
  if (load && load->paddr + load->memsz > kMmioHoleStart)
    d.problems.push_back("PT_LOAD ends at " + hex(load->paddr + load->memsz) +
                         ", in the MMIO hole from 0xfc000000: stock Xen 4.17 "
                         "libxc only populates RAM below it and refuses to load there");
  if (!x) {
    if (!missing.empty()) d.notes.push_back("libxenguest's own parse was not run: " + missing);
    return;
  }
  if (x->rc == 0 && x->pvh)
    d.notes.push_back("libxenguest: PVH image, kernel segment " + hex(x->seg_start) + "-" + hex(x->seg_end) +
                      (x->phys32_entry ? ", PHYS32_ENTRY " + hex(*x->phys32_entry) : ""));
  if (!load) return;
  for (auto& p : xen_disagreements(*x, load->paddr, load->paddr + load->memsz, entry)) d.problems.push_back(std::move(p));
}

void qemu_rules(const Image& img, const ByteView& v, Verdict& d) {
  // QEMU pads name and desc to p_align: 0 divides by zero, more than 4 moves the 4-byte desc.
  for (const auto& s : img.elf->segments) {
    if (s.type != elf::kPtNote) continue;
    if (s.align == 0) {
      d.problems.push_back("PT_NOTE at " + hex(s.offset) + " has p_align 0: QEMU 7.2 divides by it and dies (SIGFPE)");
      return;
    }
    if (s.align > 4)
      d.problems.push_back("PT_NOTE at " + hex(s.offset) + " has p_align " + hex(s.align) +
                           ": QEMU pads the note by p_align and reads the entry from the wrong place");
  }
  // QEMU matches the note type only, whatever the name.
  const auto entry = find_entry(*img.elf, v, false, false, align_by);
  check_pvh_shape(img, v, entry, d);
  const ElfSegment* load = whole_image_load(*img.elf);
  if (load && load->paddr + load->memsz > kQemuBiosStart)
    d.problems.push_back("PT_LOAD " + hex(load->paddr) + "-" + hex(load->paddr + load->memsz) +
                         " overlaps the BIOS ROM QEMU maps at 0xfffc0000-4 GiB: QEMU refuses to start");
  if (load && load->paddr < kMiB && load->paddr + load->memsz > kQemuIsaBios)
    d.problems.push_back("PT_LOAD overlaps the ISA BIOS alias at 0xe0000-0x100000");
}

void linux_loader_rules(const Image& img, const ByteView& v, Verdict& d) {
  const ElfWrapper& w = *img.elf;
  if (w.elf_class != 64) {
    d.problems.push_back("linux-loader reads only ELF64 headers (this is ELF32)");
    return;
  }
  if (w.phoff < elf::kEhdr64Size) d.problems.push_back("e_phoff " + hex(w.phoff) + " is inside the ELF header");
  if (w.entry < kMiB) d.problems.push_back("e_entry " + hex(w.entry) + " is below 1 MiB (linux-loader refuses it)");
  const ElfSegment* last_note = nullptr;
  for (const auto& s : w.segments)
    if (s.type == elf::kPtNote) last_note = &s;
  if (last_note && (last_note->align == 0 || (last_note->align & (last_note->align - 1))))
    d.problems.push_back("PT_NOTE p_align " + hex(last_note->align) + " is not a power of two (linux-loader fails)");
  ElfWrapper only_last = w;  // only the last PT_NOTE counts
  only_last.segments.clear();
  if (last_note) only_last.segments.push_back(*last_note);
  const auto entry = last_note && last_note->align ? find_entry(only_last, v, false, true, align_by) : std::nullopt;
  check_pvh_shape(img, v, entry, d);
}

void hvmloader_rules(const Image& img, Verdict& d) {
  if (img.size % kMiB) {
    d.problems.push_back("size " + hex(img.size) + " is not a whole number of MiB: hvmloader copies it to 4 GiB - " +
                         hex(align_up(img.size, kMiB)) + ", so it does not end at 4 GiB and the reset vector is missed");
    d.notes.push_back("hvmloader with our patch (xen-patches/xen-4.17/0003) ends an image of any size at 4 GiB");
  }
  if (!img.reset_vector.vtf) d.problems.push_back("no OVMF reset vector at the end of the image (no \"VTF\\0\" at end-0x14)");
  d.entry = 0xfffffff0;
  d.notes.push_back("copies the whole file (any ELF header included) to " + hex(k4GiB - align_up(img.size, kMiB)) +
                    " and starts at the reset vector 0xfffffff0");
  if (img.elf && !img.elf->notes.empty())
    d.notes.push_back(
        "as OVMF for hvmloader (bios=\"ovmf\", bios_path_override) the file is used raw; as an HVM guest's "
        "firmware_override (in place of hvmloader) libxc's ELF loader takes an ELF with Xen notes as a PVH "
        "kernel and starts it at its PVH entry, without hvmloader");
}

}  // namespace

std::string XenParseFacts::log_tail(size_t lines) const {
  size_t cut = log.size(), n = 0;
  while (cut > 0 && n < lines) {
    const size_t nl = log.rfind('\n', cut - 1);
    if (nl == std::string::npos) {
      cut = 0;
      break;
    }
    cut = nl;
    ++n;
  }
  std::string t = log.substr(cut);
  for (auto& c : t)
    if (c == '\n') c = ' ';
  return t;
}

std::vector<std::string> xen_disagreements(const XenParseFacts& x, uint64_t seg_start, uint64_t seg_end, std::optional<uint64_t> entry) {
  if (x.rc != 0 || !x.pvh) return {"libxenguest's parse (rc " + std::to_string(x.rc) + ") did not find a PVH image:" + x.log_tail()};
  std::vector<std::string> out;
  if (x.seg_start != seg_start || x.seg_end != seg_end)
    out.push_back("libxenguest would load " + hex(x.seg_start) + "-" + hex(x.seg_end) + ", not " + hex(seg_start) + "-" + hex(seg_end));
  if (entry && x.phys32_entry && *x.phys32_entry != *entry)
    out.push_back("libxenguest reads PHYS32_ENTRY " + hex(*x.phys32_entry) + ", elfwrap reads " + hex(*entry));
  return out;
}

Verdict verify_for(Loader l, const Image& img, std::span<const std::byte> bytes, const XenParseFacts* xen, const std::string& xen_missing) {
  Verdict d{l};
  const ByteView v(bytes);
  if (l == Loader::hvmloader) {
    hvmloader_rules(img, d);
  } else if (!img.elf) {
    d.problems.push_back("no ELF header: a raw flash image is not a kernel (wrap it: elfwrap IMAGE -o OUT.elf)");
  } else if (l == Loader::xen) {
    xen_rules(img, v, xen, xen_missing, d);
  } else if (l == Loader::qemu) {
    qemu_rules(img, v, d);
  } else {
    linux_loader_rules(img, v, d);
  }
  return d;
}

const char* loader_name(Loader l) {
  switch (l) {
    case Loader::xen:
      return "xen";
    case Loader::qemu:
      return "qemu";
    case Loader::linux_loader:
      return "linux-loader";
    case Loader::hvmloader:
      return "hvmloader";
  }
  return "xen";
}

std::optional<Loader> loader_by_name(std::string_view n) {
  for (Loader l : {Loader::xen, Loader::qemu, Loader::linux_loader, Loader::hvmloader})
    if (n == loader_name(l)) return l;
  return std::nullopt;
}

}  // namespace elfwrap
