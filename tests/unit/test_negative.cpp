// Structural violations: each gives one exact error with offset, structure path, field and value.
#include <functional>

#include "tests/unit/helpers.hpp"

using namespace elfwrap;
using namespace fx;

namespace {

Bytes edk2_elf_image(const ElfSpec& spec, uint64_t size = 0x200000) {
  Bytes b = ovmf_image(size, Tail::xen_pvh);
  overlay_elf(b, spec);
  return b;
}

Bytes fv_with(std::function<void(Fv&)> edit) {
  Fv fv;
  fv.length = 0x1000;
  edit(fv);
  return build_fv(fv);
}

Bytes nv_with(std::function<void(Nv&)> edit) {
  Nv nv;
  edit(nv);
  return build_nv(nv);
}

}  // namespace

TEST_CASE("empty file and no volume at all") {
  CHECK(parse_err({}) == "offset 0x0: file is empty");
  CHECK(parse_err(filled(0x1000, 0)) == "offset 0x0: no firmware volume found (no \"_FVH\" signature at an 8-byte aligned volume header)");
}

TEST_CASE("firmware volume headers") {
  Bytes trunc = filled(0x30, 0);
  put_text(trunc, 0x28, "_FVH");
  CHECK(parse_err(trunc) == "FV[0] at 0x0: truncated: volume header (0x38 bytes) runs past end of data at 0x30");
  CHECK(parse_err(concat({build_nv(Nv{}), fv_with([](Fv& f) { f.fv_length_field = 0x7fffffff; })})) ==
        "FV[1] at 0x20000: FvLength 0x7fffffff runs past end of image (0x21000)");
  CHECK(parse_err(fv_with([](Fv& f) { f.fv_length_field = 0; })) == "FV[0] at 0x0: FvLength is zero");
  CHECK(parse_err(fv_with([](Fv& f) { f.header_length = 0x1008; })) == "FV[0] at 0x30: HeaderLength 0x1008 is beyond FvLength 0x1000");
  CHECK(parse_err(fv_with([](Fv& f) { f.header_length = 0x40; })) ==
        "FV[0] at 0x30: HeaderLength 0x40 is not an even size of at least 0x48");
  CHECK(parse_err(fv_with([](Fv& f) { f.header_length = 0x49; })) ==
        "FV[0] at 0x30: HeaderLength 0x49 is not an even size of at least 0x48");
  CHECK(parse_err(fv_with([](Fv& f) {
          f.block_map = {{{2, 0x1000}}};
        })) == "FV[0] at 0x38: block map covers 0x2000 bytes but FvLength is 0x1000");
  CHECK(parse_err(fv_with([](Fv& f) {
          f.header_length = 0x50;
          f.block_map = {{{0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}}};
        })) == "FV[0] at 0x40: block map overflows 64 bits");
  CHECK(parse_err(fv_with([](Fv& f) { f.no_block_map_terminator = true; })) ==
        "FV[0] at 0x38: block map has no {0,0} terminator within HeaderLength 0x48");
  Bytes ext = fv_with([](Fv& f) { f.name = guids::kSecFv; });
  put16(ext, 0x34, 0x2000);
  CHECK(parse_err(ext) == "FV[0] at 0x34: ExtHeaderOffset 0x2000 is outside the volume data (HeaderLength 0x48, FvLength 0x1000)");
}

TEST_CASE("overlapping volumes") {
  Bytes nv_over = concat({build_nv(Nv{}), fv_with([](Fv&) {})});
  put64(nv_over, 0x20, 0x21000);
  put32(nv_over, 0x38, 0x21);
  CHECK(parse_err(nv_over) == "FV[0] at 0x0: FvLength 0x21000 overlaps the volume at 0x20000");
  Bytes main_over = ovmf_image(0x200000, Tail::xen_pvh);
  put64(main_over, 0x20000 + 0x20, 0x1e0000);
  put32(main_over, 0x20000 + 0x38, 0x1e0);
  CHECK(parse_err(main_over) == "FV[1] at 0x20000: FvLength 0x1e0000 overlaps the volume at 0x1f0000");
}

TEST_CASE("FFS files") {
  CHECK(parse_err(fv_with([](Fv& f) {
          f.files = {File{}};
          f.files[0].size_override = 0;
        })) == "FV[0]/FFS[0] at 0x48: FFS file size 0x0 is smaller than its header (0x18)");
  CHECK(parse_err(fv_with([](Fv& f) {
          f.files = {File{}};
          f.files[0].size_override = 0x2000;
        })) == "FV[0]/FFS[0] at 0x48: FFS file size 0x2000 runs past the end of the volume at 0x1000");
  CHECK(parse_err(fv_with([](Fv& f) {
          f.files = {File{}, File{}};
          f.files[1].size_override = 0x17;
        })) == "FV[0]/FFS[1] at 0x60: FFS file size 0x17 is smaller than its header (0x18)");
}

TEST_CASE("variable store and variables") {
  Bytes sig = build_nv(Nv{});
  put_guid(sig, 0x48, Guid::of("01234567-89ab-cdef-0123-456789abcdef"));
  CHECK(parse_err(sig) ==
        "FV[0]/VarStore at 0x48: variable store signature 01234567-89ab-cdef-0123-456789abcdef "
        "is neither the authenticated nor the plain store GUID");
  CHECK(parse_err(nv_with([](Nv& n) { n.store_size = 0x20000; })) ==
        "FV[0]/VarStore at 0x58: variable store Size 0x20000 is below 0x1c or larger than the NV FV allows (0x1ffb8)");
  CHECK(parse_err(nv_with([](Nv& n) { n.store_size = 0x10; })) ==
        "FV[0]/VarStore at 0x58: variable store Size 0x10 is below 0x1c or larger than the NV FV allows (0x1ffb8)");
  CHECK(parse_err(nv_with([](Nv& n) {
          n.vars = {Var{}};
          n.vars[0].name_size = 0x100000;
        })) == "FV[0]/VarStore/var[0] at 0x64: NameSize 0x100000 is odd, zero or runs past the end of the variable store at 0xe000");
  CHECK(parse_err(nv_with([](Nv& n) {
          n.vars = {Var{}};
          n.vars[0].name_size = 7;
        })) == "FV[0]/VarStore/var[0] at 0x64: NameSize 0x7 is odd, zero or runs past the end of the variable store at 0xe000");
  CHECK(parse_err(nv_with([](Nv& n) {
          n.vars = {Var{}};
          n.vars[0].data_size = 0xfffffff0;
        })) == "FV[0]/VarStore/var[0] at 0x64: DataSize 0xfffffff0 runs past the end of the variable store at 0xe000");
  // All-ones is an unwritten field (a torn header, read with sizes 0 as edk2 does): the walk goes
  // on after the header, here into the name bytes the builder still wrote.
  CHECK(parse_err(nv_with([](Nv& n) {
          n.vars = {Var{}};
          n.vars[0].data_size = 0xffffffff;
        })) == "FV[0]/VarStore/var[1] at 0xa0: StartId 0x56 is not 0x55aa");
  CHECK(parse_err(nv_with([](Nv& n) {
          n.vars = {Var{}, Var{}};
          n.vars[1].start_id = 0x1234;
        })) == "FV[0]/VarStore/var[1] at 0xac: StartId 0x1234 is not 0x55aa");
  CHECK(parse_err(nv_with([](Nv& n) {
          n.authenticated = false;
          n.vars = {Var{}};
          n.vars[0].name_size = 0xe000;
        })) == "FV[0]/VarStore/var[0] at 0x64: NameSize 0xe000 is odd, zero or runs past the end of the variable store at 0xe000");
}

TEST_CASE("ELF header") {
  Bytes cls = edk2_elf_image({});
  put8(cls, 4, 7);
  CHECK(parse_err(cls) == "ELF header at 0x4: EI_CLASS 0x7 is neither ELFCLASS32 nor ELFCLASS64");
  CHECK(parse_err(edk2_elf_image({.data = 2})) == "ELF header at 0x5: EI_DATA 0x2 is not ELFDATA2LSB (little-endian)");
  CHECK(parse_err(edk2_elf_image({.machine = 40})) == "ELF header at 0x12: e_machine 0x28 is not EM_386 (0x3) or EM_X86_64 (0x3e)");
  CHECK(parse_err(edk2_elf_image({.phentsize_override = 0x30})) == "ELF header at 0x2a: e_phentsize 0x30 is not 0x20");
  CHECK(parse_err(edk2_elf_image({.cls = 64, .phentsize_override = 0x20})) == "ELF header at 0x36: e_phentsize 0x20 is not 0x38");
  Bytes nophdr = edk2_elf_image({});
  put16(nophdr, 0x2c, 0);
  CHECK(parse_err(nophdr) == "ELF header at 0x2c: e_phnum 0x0 is outside 1..64");
  CHECK(parse_err(edk2_elf_image({.phnum_override = 65})) == "ELF header at 0x2c: e_phnum 0x41 is outside 1..64");
  CHECK(parse_err(edk2_elf_image({.phoff_override = 0x1ffff0})) ==
        "ELF header at 0x1ffff0: program headers (e_phoff 0x1ffff0, 2 x 0x20) run past end of file (0x200000)");
  CHECK(parse_err(edk2_elf_image({.load_size = 0x400000})) ==
        "ELF/phdr[0] at 0x0: PT_LOAD p_offset 0x0 + p_filesz 0x400000 runs past end of file (0x200000)");
  CHECK(parse_err(edk2_elf_image({.note_filesz_override = 0x10})) ==
        "ELF/phdr[1]/note[0] at 0x74: n_namesz 0x4 / n_descsz 0x4 run past the end of the PT_NOTE segment at 0x84");
  Bytes wraps = edk2_elf_image({.cls = 64});
  put64(wraps, 0x40 + 0x28, 0xfffffffffff00001ull);  // phdr[0].p_memsz: p_paddr 0x100000 + it wraps
  CHECK(parse_err(wraps) == "ELF/phdr[0] at 0x0: PT_LOAD p_paddr 0x100000 + p_memsz 0xfffffffffff00001 overflows 64 bits");
  Bytes trunc = text(
      "\x7f"
      "ELF");
  trunc.resize(20, std::byte{1});
  CHECK(parse_err(trunc) == "ELF header at 0x0: truncated: ELF32 header (0x34 bytes) runs past end of data at 0x14");
}

TEST_CASE("OVMF GUIDed table") {
  Bytes len = ovmf_image(0x200000, Tail::stock);
  put16(len, 0x200000 - 0x32, 0x11);
  CHECK(parse_err(len) == "reset-vector/guided-table at 0x1fffce: table length 0x11 is below 0x12 or runs before the start of the image");
  Bytes entry = ovmf_image(0x200000, Tail::stock);
  put16(entry, 0x200000 - 0x32 - 18, 5);
  CHECK(parse_err(entry) ==
        "reset-vector/guided-table at 0x1fffbc: entry 00f771de-1a7e-4fcb-890e-68c77e2fb44e "
        "length 0x5 is below 0x12 or runs before the table start 0x1fffa2");
}
