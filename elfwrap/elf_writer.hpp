// The ELF header elfwrap writes in front of a firmware image: one PT_LOAD covering the whole
// image at its load address (p_paddr = p_vaddr), and for PVH one PT_NOTE (last, p_align 4,
// p_offset != 0) with only the Xen PHYS32_ENTRY note. The shape every loader accepts
// (docs/loaders.md). Pure: computes bytes, writes nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace elfwrap {

struct ElfHeaderSpec {
  int elf_class = 64;                    // 32 or 64
  uint64_t entry = 0;                    // e_entry
  uint64_t load_address = 0;             // PT_LOAD p_paddr = p_vaddr
  uint64_t image_size = 0;               // PT_LOAD p_filesz = p_memsz (from file offset 0)
  std::optional<uint32_t> phys32_entry;  // PVH: the Xen PHYS32_ENTRY note; HVM: no note
};

// Size of the header for a spec (ELF header + program headers + note).
uint64_t elf_header_size(int elf_class, bool with_note);
std::vector<std::byte> build_elf_header(const ElfHeaderSpec& spec);

}  // namespace elfwrap
