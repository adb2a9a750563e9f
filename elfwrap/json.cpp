#include "elfwrap/json.hpp"

#include "elfwrap/elf_consts.hpp"

namespace elfwrap {
using nlohmann::json;

namespace {

json name_or_null(const Guid& g) {
  const char* n = guid_name(g);
  return n ? json(n) : json(nullptr);
}

json segment_json(const ElfSegment& s) {
  return {{"type", s.type},     {"type_name", elf_segment_type_name(s.type)},
          {"flags", s.flags},   {"offset", s.offset},
          {"paddr", s.paddr},   {"vaddr", s.vaddr},
          {"filesz", s.filesz}, {"memsz", s.memsz},
          {"align", s.align}};
}

json note_json(const ElfNote& n) {
  const char* tn = n.name == "Xen" ? xen_note_name(n.type) : nullptr;
  return {{"offset", n.offset},
          {"name", n.name},
          {"type", n.type},
          {"type_name", tn ? json(tn) : json(nullptr)},
          {"desc_size", n.desc.size()},
          {"value", n.value ? json(*n.value) : json(nullptr)}};
}

json gap_json(const Gap& g) { return {{"offset", g.offset}, {"length", g.length}, {"erased", g.erased}}; }

json file_json(const FfsFile& f) {
  return {{"offset", f.offset},
          {"name_guid", f.name.str()},
          {"type", f.type},
          {"type_name", ffs_type_name(f.type)},
          {"size", f.size},
          {"attributes", f.attributes},
          {"state", ffs_state_name(f.state)},
          {"alignment", f.alignment},
          {"header_checksum_ok", f.header_checksum_ok}};
}

json volume_json(const Volume& fv) {
  json j = {{"offset", fv.offset},
            {"length", fv.length},
            {"filesystem_guid", fv.filesystem.str()},
            {"filesystem_name", name_or_null(fv.filesystem)},
            {"name_guid", fv.name ? json(fv.name->str()) : json(nullptr)},
            {"name", fv.name ? name_or_null(*fv.name) : json(nullptr)},
            {"role", role_name(fv.role)},
            {"attributes", fv.attributes},
            {"header_length", fv.header_length},
            {"checksum_ok", fv.checksum_ok},
            {"revision", fv.revision}};
  j["block_map"] = json::array();
  for (const auto& b : fv.block_map) j["block_map"].push_back({{"blocks", b.num_blocks}, {"length", b.length}});
  j["files"] = json::array();
  for (const auto& f : fv.files) j["files"].push_back(file_json(f));
  j["gaps"] = json::array();
  for (const auto& g : fv.gaps) j["gaps"].push_back(gap_json(g));
  j["file_count"] = fv.file_count;
  j["unlisted_files"] = fv.unlisted_files();
  j["unlisted_gaps"] = fv.unlisted_gaps;
  return j;
}

json variable_json(const Variable& v) {
  json j = {{"offset", v.offset},
            {"name", v.name},
            {"vendor_guid", v.vendor.str()},
            {"vendor_name", name_or_null(v.vendor)},
            {"attributes", v.attributes},
            {"attributes_str", var_attributes_str(v.attributes)},
            {"state", var_state_name(v.state)},
            {"state_raw", v.state_raw},
            {"name_size", v.name_size},
            {"data_size", v.data_size},
            {"data_offset", v.data_offset}};
  if (v.torn) j["torn"] = true;
  if (v.load_option_description) j["load_option_description"] = *v.load_option_description;
  return j;
}

json reset_vector_json(const ResetVector& rv) {
  json j = {{"flavor", flavor_name(rv.flavor)}, {"pvh_entry_offset", rv.pvh_entry_offset ? json(*rv.pvh_entry_offset) : json(nullptr)}};
  j["guided_table"] = json::array();
  for (const auto& e : rv.guided_table)
    j["guided_table"].push_back({{"guid", e.guid.str()}, {"name", name_or_null(e.guid)}, {"offset", e.offset}, {"length", e.length}});
  return j;
}

}  // namespace

const char* machine_name(uint16_t m) { return m == elf::kEm386 ? "EM_386" : m == elf::kEmX86_64 ? "EM_X86_64" : "unknown"; }

std::string dump(const json& j) {
  // Names and paths come from untrusted bytes and from the user: never abort on invalid UTF-8.
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

json guid_json(const Guid& g) { return {{"guid", g.str()}, {"name", name_or_null(g)}}; }

json to_json(const Warning& w) { return {{"offset", w.offset}, {"path", w.path}, {"message", w.message}}; }

json to_json(const ElfWrapper& w) {
  json j = {{"class", w.elf_class},
            {"machine", w.machine},
            {"machine_name", machine_name(w.machine)},
            {"osabi", w.osabi},
            {"entry", w.entry},
            {"header_end", w.header_end},
            {"phys32_entry", w.phys32_entry() ? json(*w.phys32_entry()) : json(nullptr)}};
  j["segments"] = json::array();
  for (const auto& s : w.segments) j["segments"].push_back(segment_json(s));
  j["notes"] = json::array();
  for (const auto& n : w.notes) j["notes"].push_back(note_json(n));
  return j;
}

json to_json(const NvStore& nv) {
  json j = {{"offset", nv.offset},
            {"length", nv.layout ? json(nv.layout->region_size) : json(nullptr)},
            {"layout", nv.layout ? json(nv.layout->name) : json(nullptr)},
            {"fv_present", nv.fv_present},
            {"authenticated", nv.authenticated},
            {"store_offset", nv.store_offset},
            {"store_size", nv.store_size},
            {"format", nv.format},
            {"state", nv.state},
            {"free_offset", nv.free_offset},
            {"free_bytes", nv.fv_present ? json(nv.store_offset + nv.store_size - nv.free_offset) : json(0)},
            {"live_variables", nv.live_variables()}};
  j["variables"] = json::array();
  for (const auto& v : nv.variables) j["variables"].push_back(variable_json(v));
  if (nv.ftw)
    j["ftw"] = {{"offset", nv.ftw->offset}, {"signature_ok", nv.ftw->signature_ok},        {"crc", nv.ftw->crc}, {"crc_ok", nv.ftw->crc_ok},
                {"valid", nv.ftw->valid},   {"write_queue_size", nv.ftw->write_queue_size}};
  else
    j["ftw"] = nullptr;
  return j;
}

json to_json(const Image& img) {
  json j = {{"size", img.size}, {"elf", img.elf ? to_json(*img.elf) : json(nullptr)}};
  j["volumes"] = json::array();
  for (const auto& fv : img.volumes) j["volumes"].push_back(volume_json(fv));
  j["gaps"] = json::array();
  for (const auto& g : img.gaps) j["gaps"].push_back(gap_json(g));
  j["nvstore"] = img.nvstore ? to_json(*img.nvstore) : json(nullptr);
  j["reset_vector"] = reset_vector_json(img.reset_vector);
  j["warnings"] = json::array();
  for (const auto& w : img.warnings) j["warnings"].push_back(to_json(w));
  return j;
}

}  // namespace elfwrap
