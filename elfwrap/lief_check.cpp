// Second opinion on the ELF header: LIEF (Debian liblief 0.9) re-reads what the checked
// reader read, and any disagreement on a field elfwrap relies on becomes a warning.
// LIEF only runs after the checked reader accepted the header and program headers.
#include <LIEF/ELF.hpp>
#include <LIEF/logging.hpp>

#include "elfwrap/lief_check.hpp"

#include <cstring>

#include "elfwrap/parse_internal.hpp"

namespace elfwrap {
namespace {

void compare(std::vector<Warning>& warns, uint64_t off, const std::string& what, uint64_t lief, uint64_t ours) {
  if (lief != ours) warns.push_back({off, "ELF", "LIEF disagrees on " + what + ": LIEF read " + hex(lief) + ", elfwrap read " + hex(ours)});
}

}  // namespace

void lief_cross_check(std::span<const std::byte> bytes, const ElfWrapper& w, std::vector<Warning>& warns) {
  LIEF::Logger::disable();
  std::unique_ptr<LIEF::ELF::Binary> bin;
  try {
    std::vector<uint8_t> data(bytes.size());
    std::memcpy(data.data(), bytes.data(), bytes.size());
    bin = LIEF::ELF::Parser::parse(data, "image");
  } catch (const std::exception& e) {
    warns.push_back({0, "ELF", std::string("LIEF could not parse the ELF header: ") + e.what()});
    return;
  }
  if (!bin) {
    warns.push_back({0, "ELF", "LIEF could not parse the ELF header"});
    return;
  }
  const auto& hdr = bin->header();
  compare(warns, 4, "class", hdr.identity_class() == LIEF::ELF::ELF_CLASS::ELFCLASS64 ? 64 : 32, w.elf_class);
  compare(warns, 0x12, "e_machine", static_cast<uint64_t>(hdr.machine_type()), w.machine);
  compare(warns, 0x18, "e_entry", hdr.entrypoint(), w.entry);
  compare(warns, 0, "e_phoff", hdr.program_headers_offset(), w.phoff);
  size_t i = 0;
  for (const LIEF::ELF::Segment& s : bin->segments()) {
    if (i >= w.segments.size()) break;
    const ElfSegment& o = w.segments[i];
    const std::string p = "phdr[" + std::to_string(i) + "] ";
    compare(warns, o.offset, p + "p_type", static_cast<uint64_t>(s.type()), o.type);
    compare(warns, o.offset, p + "p_offset", s.file_offset(), o.offset);
    compare(warns, o.offset, p + "p_paddr", s.physical_address(), o.paddr);
    compare(warns, o.offset, p + "p_vaddr", s.virtual_address(), o.vaddr);
    compare(warns, o.offset, p + "p_filesz", s.physical_size(), o.filesz);
    compare(warns, o.offset, p + "p_memsz", s.virtual_size(), o.memsz);
    ++i;
  }
  compare(warns, 0, "number of program headers", bin->segments().size(), w.segments.size());
}

}  // namespace elfwrap

// The entry point elfwrap's CLI finds with dlsym (tools/elfwrap/lief_plugin.cpp) when this file
// is built as the plugin elfwrap-lief.so: LIEF's start-up (its static initialisers) is then paid
// only by a command that reads an ELF header.
extern "C" __attribute__((visibility("default"))) void elfwrap_lief_cross_check(std::span<const std::byte> bytes,
                                                                                const elfwrap::ElfWrapper& w,
                                                                                std::vector<elfwrap::Warning>& warns) {
  elfwrap::lief_cross_check(bytes, w, warns);
}
