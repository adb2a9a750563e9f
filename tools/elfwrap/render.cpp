#include "tools/elfwrap/render.hpp"

#include <cstdio>

#include "elfwrap/elf_consts.hpp"
#include "elfwrap/json.hpp"

namespace elfwrap::cli {
namespace {

std::string guid_label(const Guid& g) {
  const char* n = guid_name(g);
  return n ? std::string(n) + " (" + g.str() + ")" : g.str();
}

std::string range(uint64_t off, uint64_t len) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "0x%08llx-0x%08llx", static_cast<unsigned long long>(off), static_cast<unsigned long long>(off + len));
  return buf;
}

void render_elf(std::ostream& out, const ElfWrapper& w) {
  out << "ELF header: ELF" << w.elf_class << " " << machine_name(w.machine) << ", entry " << hex(w.entry) << ", header ends at "
      << hex(w.header_end) << "\n";
  for (const auto& s : w.segments)
    out << "  " << elf_segment_type_name(s.type) << "  offset " << hex(s.offset) << " paddr " << hex(s.paddr) << " vaddr " << hex(s.vaddr)
        << " filesz " << hex(s.filesz) << " memsz " << hex(s.memsz) << " align " << hex(s.align) << "\n";
  for (const auto& n : w.notes) {
    const char* tn = n.name == "Xen" ? xen_note_name(n.type) : nullptr;
    out << "  note \"" << n.name << "\" type " << n.type << (tn ? std::string(" (") + tn + ")" : "") << " = "
        << (n.value ? hex(*n.value) : std::to_string(n.desc.size()) + " bytes") << "\n";
  }
}

void render_volume(std::ostream& out, size_t i, const Volume& fv) {
  out << "FV[" << i << "] " << range(fv.offset, fv.length) << " role " << role_name(fv.role) << "\n"
      << "  file system " << guid_label(fv.filesystem) << "\n";
  if (fv.name) out << "  name        " << guid_label(*fv.name) << "\n";
  out << "  attributes " << hex(fv.attributes) << ", header " << hex(fv.header_length) << " bytes, checksum "
      << (fv.checksum_ok ? "ok" : "BAD") << ", blocks";
  for (const auto& b : fv.block_map) out << " " << b.num_blocks << "x" << hex(b.length);
  out << "\n";
  for (const auto& f : fv.files)
    out << "  file " << range(f.offset, f.size) << " " << f.name.str() << " " << ffs_type_name(f.type)
        << (f.alignment > 1 ? " align " + hex(f.alignment) : "") << " " << ffs_state_name(f.state)
        << (f.header_checksum_ok ? "" : " BAD-CHECKSUM") << "\n";
  for (const auto& g : fv.gaps) out << "  " << (g.erased ? "free " : "unrecognised ") << range(g.offset, g.length) << "\n";
  if (fv.unlisted_files() || fv.unlisted_gaps)
    out << "  ... " << fv.unlisted_files() << " more file(s) and " << fv.unlisted_gaps << " gap(s), checked, not listed\n";
}

void render_nvstore(std::ostream& out, const NvStore& nv) {
  out << "NV store at " << hex(nv.offset) << ", layout " << (nv.layout ? nv.layout->name : "unknown");
  if (!nv.fv_present) {
    out << " (FV and variable-store headers replaced by an ELF header: no variables)\n";
  } else {
    out << ", " << (nv.authenticated ? "authenticated" : "plain") << " store at " << hex(nv.store_offset) << " size " << hex(nv.store_size)
        << " format " << hex(nv.format) << " state " << hex(nv.state) << "\n"
        << "  " << nv.variables.size() << " variable header(s), " << nv.live_variables() << " live; free from " << hex(nv.free_offset)
        << " (" << hex(nv.store_offset + nv.store_size - nv.free_offset) << " bytes)\n";
  }
  for (const auto& v : nv.variables)
    out << "  var " << hex(v.offset) << " " << v.name << " " << guid_label(v.vendor) << " " << var_attributes_str(v.attributes) << " "
        << (v.torn ? "torn" : var_state_name(v.state)) << " data " << v.data_size << "\n";
  if (nv.ftw)
    out << "  FTW working block at " << hex(nv.ftw->offset) << ": "
        << (!nv.ftw->signature_ok ? "no signature"
                                  : std::string(nv.ftw->valid ? "valid" : "not valid") + ", crc " + (nv.ftw->crc_ok ? "ok" : "BAD") +
                                        ", write queue " + hex(nv.ftw->write_queue_size))
        << "\n";
}

}  // namespace

void render_inspect(std::ostream& out, const std::string& file, const Image& img) {
  out << file << ": " << img.size << " bytes (" << hex(img.size) << ")\n";
  if (img.elf)
    render_elf(out, *img.elf);
  else
    out << "ELF header: none\n";
  for (size_t i = 0; i < img.volumes.size(); ++i) render_volume(out, i, img.volumes[i]);
  for (const auto& g : img.gaps) out << "outside volumes: " << range(g.offset, g.length) << (g.erased ? " erased" : " data") << "\n";
  if (img.nvstore)
    render_nvstore(out, *img.nvstore);
  else
    out << "NV store: none\n";
  const ResetVector& rv = img.reset_vector;
  out << "reset vector: " << flavor_name(rv.flavor);
  if (rv.pvh_entry_offset) out << ", PVH entry at image offset " << hex(*rv.pvh_entry_offset);
  out << "\n";
  for (const auto& e : rv.guided_table)
    out << "  GUIDed table entry " << hex(e.offset) << " len " << e.length << " " << guid_label(e.guid) << "\n";
}

}  // namespace elfwrap::cli
