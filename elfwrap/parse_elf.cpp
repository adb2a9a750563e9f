// The optional leading ELF header of a firmware image: read with the checked
// reader, then cross-checked against LIEF (see lief_check.cpp).
#include "elfwrap/parse_internal.hpp"

#include "elfwrap/elf_consts.hpp"
#include "elfwrap/layout.hpp"

namespace elfwrap {
namespace {

struct Ehdr {
  int cls = 0;
  uint16_t machine = 0, ehsize = 0, phentsize = 0, phnum = 0;
  uint64_t entry = 0, phoff = 0;
  uint8_t osabi = 0;
};

Expected<Ehdr> read_ehdr(const ByteView& v) {
  const std::string p = "ELF header";
  EW_TRY(auto cls, need_le<uint8_t>(v, 4, p, "EI_CLASS"));
  EW_TRY(auto data, need_le<uint8_t>(v, 5, p, "EI_DATA"));
  if (cls != elf::kClass32 && cls != elf::kClass64)
    return error_at(v.abs(4), p, "EI_CLASS " + hex(cls) + " is neither ELFCLASS32 nor ELFCLASS64");
  if (data != elf::kDataLsb) return error_at(v.abs(5), p, "EI_DATA " + hex(data) + " is not ELFDATA2LSB (little-endian)");
  Ehdr h;
  h.cls = cls == elf::kClass32 ? 32 : 64;
  const bool is64 = h.cls == 64;
  const uint64_t need = is64 ? elf::kEhdr64Size : elf::kEhdr32Size;
  EW_CHECK(need_sub(v, 0, need, p, is64 ? "ELF64 header" : "ELF32 header"));
  h.osabi = *v.le<uint8_t>(7);
  h.machine = *v.le<uint16_t>(0x12);
  h.entry = is64 ? *v.le<uint64_t>(0x18) : *v.le<uint32_t>(0x18);
  h.phoff = is64 ? *v.le<uint64_t>(0x20) : *v.le<uint32_t>(0x1c);
  h.ehsize = *v.le<uint16_t>(is64 ? 0x34 : 0x28);
  h.phentsize = *v.le<uint16_t>(is64 ? 0x36 : 0x2a);
  h.phnum = *v.le<uint16_t>(is64 ? 0x38 : 0x2c);
  if (h.machine != elf::kEm386 && h.machine != elf::kEmX86_64)
    return error_at(v.abs(0x12), p, "e_machine " + hex(h.machine) + " is not EM_386 (0x3) or EM_X86_64 (0x3e)");
  const uint16_t want = is64 ? elf::kPhdr64Size : elf::kPhdr32Size;
  if (h.phentsize != want) return error_at(v.abs(is64 ? 0x36 : 0x2a), p, "e_phentsize " + hex(h.phentsize) + " is not " + hex(want));
  if (h.phnum == 0 || h.phnum > elf::kMaxPhnum)
    return error_at(v.abs(is64 ? 0x38 : 0x2c), p, "e_phnum " + hex(h.phnum) + " is outside 1.." + std::to_string(elf::kMaxPhnum));
  return h;
}

ElfSegment read_phdr(const ByteView& ph, bool is64) {
  ElfSegment s;
  s.type = *ph.le<uint32_t>(0);
  if (is64) {
    s.flags = *ph.le<uint32_t>(4);
    s.offset = *ph.le<uint64_t>(8);
    s.vaddr = *ph.le<uint64_t>(0x10);
    s.paddr = *ph.le<uint64_t>(0x18);
    s.filesz = *ph.le<uint64_t>(0x20);
    s.memsz = *ph.le<uint64_t>(0x28);
    s.align = *ph.le<uint64_t>(0x30);
  } else {
    s.offset = *ph.le<uint32_t>(4);
    s.vaddr = *ph.le<uint32_t>(8);
    s.paddr = *ph.le<uint32_t>(0xc);
    s.filesz = *ph.le<uint32_t>(0x10);
    s.memsz = *ph.le<uint32_t>(0x14);
    s.flags = *ph.le<uint32_t>(0x18);
    s.align = *ph.le<uint32_t>(0x1c);
  }
  return s;
}

// Notes inside one PT_NOTE segment; 4-byte padding of name and desc (as Xen's libelf does).
Status read_notes(const ByteView& seg, const std::string& path, ElfWrapper& out) {
  uint64_t off = 0;
  for (uint32_t n = 0; off < seg.size(); ++n) {
    const std::string np = path + "/note[" + std::to_string(n) + "]";
    if (n >= elf::kMaxNotes) return error_at(seg.abs(off), np, "more than 256 notes");
    EW_TRY(auto namesz, need_le<uint32_t>(seg, off, np, "n_namesz"));
    EW_TRY(auto descsz, need_le<uint32_t>(seg, off + 4, np, "n_descsz"));
    EW_TRY(auto type, need_le<uint32_t>(seg, off + 8, np, "n_type"));
    const uint64_t name_off = off + 12, desc_off = name_off + align_up(namesz, 4);
    if (!seg.contains(name_off, align_up(namesz, 4)) || !seg.contains(desc_off, descsz))
      return error_at(seg.abs(off), np,
                      "n_namesz " + hex(namesz) + " / n_descsz " + hex(descsz) + " run past the end of the PT_NOTE segment at " +
                          hex(seg.abs(seg.size())));
    ElfNote note;
    note.offset = seg.abs(off);
    note.type = type;
    for (uint32_t i = 0; i < namesz; ++i) {  // printable ASCII as is, anything else as \xNN
      const uint8_t c = *seg.le<uint8_t>(name_off + i);
      if (c == 0) break;
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        note.name.push_back(static_cast<char>(c));
      } else {
        static const char digits[] = "0123456789abcdef";
        note.name += {'\\', 'x', digits[c >> 4], digits[c & 15]};
      }
    }
    for (uint32_t i = 0; i < descsz; ++i) note.desc.push_back(*seg.le<uint8_t>(desc_off + i));
    if (descsz == 1 || descsz == 2 || descsz == 4 || descsz == 8) {
      uint64_t v = 0;
      for (uint32_t i = 0; i < descsz; ++i) v |= uint64_t{note.desc[i]} << (8 * i);
      note.value = v;
    }
    out.notes.push_back(std::move(note));
    off = desc_off + align_up(descsz, 4);  // strictly advances: at least 12 bytes
  }
  return ok();
}

void warn_shape(const ElfWrapper& w, const std::string& path, size_t i, std::vector<Warning>& warns) {
  const ElfSegment& s = w.segments[i];
  if (s.type == elf::kPtNote && s.align != 4)
    warns.push_back({s.offset, path, "PT_NOTE p_align " + hex(s.align) + " is not 4 (QEMU 7.2 dies on 0 and misreads the entry with 8)"});
  if (s.type == elf::kPtNote && s.offset == 0) warns.push_back({s.offset, path, "PT_NOTE p_offset 0: Xen's libelf skips such a segment"});
  if (s.type == elf::kPtLoad && s.paddr != s.vaddr)
    warns.push_back({s.offset, path, "PT_LOAD p_paddr " + hex(s.paddr) + " differs from p_vaddr " + hex(s.vaddr)});
}

}  // namespace

Expected<ElfWrapper> parse_elf_wrapper(const ByteView& v, std::vector<Warning>& warns) {
  EW_TRY(Ehdr h, read_ehdr(v));
  const bool is64 = h.cls == 64;
  ElfWrapper w;
  w.elf_class = h.cls;
  w.machine = h.machine;
  w.osabi = h.osabi;
  w.entry = h.entry;
  w.phoff = h.phoff;
  w.phnum = h.phnum;
  const uint64_t table = uint64_t{h.phnum} * h.phentsize;
  if (!v.contains(h.phoff, table))
    return error_at(v.abs(h.phoff), "ELF header",
                    "program headers (e_phoff " + hex(h.phoff) + ", " + std::to_string(h.phnum) + " x " + hex(h.phentsize) +
                        ") run past end of file (" + hex(v.size()) + ")");
  w.header_end = std::max<uint64_t>(is64 ? elf::kEhdr64Size : elf::kEhdr32Size, h.phoff + table);
  for (uint16_t i = 0; i < h.phnum; ++i) {
    const std::string path = "ELF/phdr[" + std::to_string(i) + "]";
    w.segments.push_back(read_phdr(*v.sub(h.phoff + uint64_t{i} * h.phentsize, h.phentsize), is64));
    const ElfSegment& s = w.segments.back();
    if (s.type != elf::kPtLoad && s.type != elf::kPtNote) continue;
    if (!v.contains(s.offset, s.filesz))
      return error_at(v.abs(s.offset), path,
                      std::string(elf_segment_type_name(s.type)) + " p_offset " + hex(s.offset) + " + p_filesz " + hex(s.filesz) +
                          " runs past end of file (" + hex(v.size()) + ")");
    if (s.filesz > s.memsz) return error_at(v.abs(s.offset), path, "p_filesz " + hex(s.filesz) + " is larger than p_memsz " + hex(s.memsz));
    // A loader adds these: a sum that wraps would make a huge segment look small (pvhboot copies
    // PT_LOADs into guest memory itself for images in the MMIO hole).
    if (s.type == elf::kPtLoad && s.memsz > UINT64_MAX - s.paddr)
      return error_at(v.abs(s.offset), path, "PT_LOAD p_paddr " + hex(s.paddr) + " + p_memsz " + hex(s.memsz) + " overflows 64 bits");
    warn_shape(w, path, i, warns);
    if (s.type == elf::kPtNote) {
      EW_CHECK(read_notes(*v.sub(s.offset, s.filesz), path, w));
      if (s.offset < 0x1000) w.header_end = std::max(w.header_end, s.offset + s.filesz);
    }
  }
  return w;
}

std::optional<uint64_t> ElfWrapper::phys32_entry() const {
  std::optional<uint64_t> e;
  for (const auto& n : notes)
    if (n.name == "Xen" && n.type == elf::kXenElfnotePhys32Entry && n.value) e = n.value;
  return e;
}

const char* xen_note_name(uint32_t type) {
  static const char* const names[] = {"INFO",        "ENTRY",         "HYPERCALL_PAGE",     "VIRT_BASE",    "PADDR_OFFSET",
                                      "XEN_VERSION", "GUEST_OS",      "GUEST_VERSION",      "LOADER",       "PAE_MODE",
                                      "FEATURES",    "BSD_SYMTAB",    "HV_START_LOW",       "L1_MFN_VALID", "SUSPEND_CANCEL",
                                      "INIT_P2M",    "MOD_START_PFN", "SUPPORTED_FEATURES", "PHYS32_ENTRY"};
  return type < std::size(names) ? names[type] : nullptr;
}

const char* elf_segment_type_name(uint32_t type) {
  switch (type) {
    case 0:
      return "PT_NULL";
    case 1:
      return "PT_LOAD";
    case 2:
      return "PT_DYNAMIC";
    case 3:
      return "PT_INTERP";
    case 4:
      return "PT_NOTE";
    case 6:
      return "PT_PHDR";
    case 0x6474e551:
      return "PT_GNU_STACK";
    default:
      return "PT_UNKNOWN";
  }
}

}  // namespace elfwrap
