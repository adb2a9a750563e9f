#include "elfwrap/elf_writer.hpp"

#include "elfwrap/elf_consts.hpp"

namespace elfwrap {
namespace {

constexpr uint64_t kNoteSize = 12 + 4 + 4;  // header, "Xen\0", 4-byte desc

class Out {
 public:
  explicit Out(std::vector<std::byte>& b) : b_(b) {}
  void u8(uint64_t off, uint64_t v) { b_.at(off) = std::byte(static_cast<uint8_t>(v)); }
  void le(uint64_t off, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) u8(off + i, v >> (8 * i));
  }

 private:
  std::vector<std::byte>& b_;
};

void write_ehdr(Out& o, bool is64, uint64_t entry, uint16_t phnum) {
  o.le(0, 0x464c457f, 4);  // "\x7fELF"
  o.u8(4, is64 ? elf::kClass64 : elf::kClass32);
  o.u8(5, elf::kDataLsb);
  o.u8(6, elf::kVersionCurrent);
  o.u8(7, elf::kOsAbiSysV);
  o.le(0x10, elf::kEtExec, 2);
  o.le(0x12, is64 ? elf::kEmX86_64 : elf::kEm386, 2);
  o.le(0x14, elf::kVersionCurrent, 4);
  if (is64) {
    o.le(0x18, entry, 8);
    o.le(0x20, elf::kEhdr64Size, 8);  // e_phoff; e_shoff 0, e_flags 0
    o.le(0x34, elf::kEhdr64Size, 2);
    o.le(0x36, elf::kPhdr64Size, 2);
    o.le(0x38, phnum, 2);
  } else {
    o.le(0x18, entry, 4);
    o.le(0x1c, elf::kEhdr32Size, 4);
    o.le(0x28, elf::kEhdr32Size, 2);
    o.le(0x2a, elf::kPhdr32Size, 2);
    o.le(0x2c, phnum, 2);
  }
}

struct Phdr {
  uint32_t type, flags;
  uint64_t offset, addr, size, align;
};

void write_phdr(Out& o, bool is64, uint64_t at, const Phdr& p) {
  o.le(at, p.type, 4);
  if (is64) {
    o.le(at + 4, p.flags, 4);
    o.le(at + 8, p.offset, 8);
    o.le(at + 0x10, p.addr, 8);
    o.le(at + 0x18, p.addr, 8);
    o.le(at + 0x20, p.size, 8);
    o.le(at + 0x28, p.size, 8);
    o.le(at + 0x30, p.align, 8);
  } else {
    o.le(at + 4, p.offset, 4);
    o.le(at + 8, p.addr, 4);
    o.le(at + 0xc, p.addr, 4);
    o.le(at + 0x10, p.size, 4);
    o.le(at + 0x14, p.size, 4);
    o.le(at + 0x18, p.flags, 4);
    o.le(at + 0x1c, p.align, 4);
  }
}

}  // namespace

uint64_t elf_header_size(int elf_class, bool with_note) {
  const bool is64 = elf_class == 64;
  const uint64_t eh = is64 ? elf::kEhdr64Size : elf::kEhdr32Size;
  const uint64_t ph = is64 ? elf::kPhdr64Size : elf::kPhdr32Size;
  return with_note ? eh + 2 * ph + kNoteSize : eh + ph;
}

std::vector<std::byte> build_elf_header(const ElfHeaderSpec& s) {
  const bool is64 = s.elf_class == 64, note = s.phys32_entry.has_value();
  std::vector<std::byte> b(elf_header_size(s.elf_class, note), std::byte{0});
  Out o(b);
  write_ehdr(o, is64, s.entry, note ? 2 : 1);
  const uint64_t ph0 = is64 ? elf::kEhdr64Size : elf::kEhdr32Size;
  const uint64_t phsz = is64 ? elf::kPhdr64Size : elf::kPhdr32Size;
  write_phdr(o, is64, ph0, {elf::kPtLoad, elf::kPfR | elf::kPfW | elf::kPfX, 0, s.load_address, s.image_size, 0x1000});
  if (note) {
    const uint64_t n = ph0 + 2 * phsz;
    write_phdr(o, is64, ph0 + phsz, {elf::kPtNote, elf::kPfR, n, s.load_address + n, kNoteSize, 4});
    o.le(n, 4, 4);                                // n_namesz
    o.le(n + 4, 4, 4);                            // n_descsz
    o.le(n + 8, elf::kXenElfnotePhys32Entry, 4);  // n_type
    o.le(n + 12, 0x006e6558, 4);                  // "Xen\0"
    o.le(n + 16, *s.phys32_entry, 4);
  }
  return b;
}

}  // namespace elfwrap
