// The end of the image: which reset vector it carries (FACTS.md §1 "Reset-vector flavors").
//  stock OvmfPkg/ResetVector: OVMF GUIDed table, footer GUID at end-0x30, u16 length at end-0x32;
//  OvmfPkg/XenResetVector:    no table, "VTF\0" at end-0x14, 32-bit PVH entry at end-0x30.
#include "elfwrap/parse_internal.hpp"

namespace elfwrap {
namespace {

constexpr uint64_t kFooterOff = 0x30, kLengthOff = 0x32, kTableEndOff = 0x20, kEntryMin = 18;
constexpr size_t kMaxEntries = 64;

Status walk_table(const ByteView& img, ResetVector& rv) {
  const uint64_t size = img.size();
  const std::string path = "reset-vector/guided-table";
  const uint16_t total = *img.le<uint16_t>(size - kLengthOff);
  if (total < kEntryMin || total > size - kTableEndOff)
    return error_at(size - kLengthOff, path, "table length " + hex(total) + " is below 0x12 or runs before the start of the image");
  const uint64_t start = size - kTableEndOff - total;
  uint64_t cur = size - kLengthOff;  // entries end where the footer's length field starts
  while (cur > start) {
    if (rv.guided_table.size() >= kMaxEntries)
      return error_at(cur, path, "more than 64 entries");
    if (cur - start < kEntryMin)
      return error_at(start, path, "entry at " + hex(cur) + " does not fit in the table (" + hex(cur - start) + " bytes left)");
    GuidedEntry e;
    e.guid.bytes = *img.array<16>(cur - 16);
    e.length = *img.le<uint16_t>(cur - 18);
    if (e.length < kEntryMin || e.length > cur - start)
      return error_at(cur - 18, path, "entry " + e.guid.str() + " length " + hex(e.length) + " is below 0x12 or runs before the table start " + hex(start));
    e.offset = cur - e.length;
    cur = e.offset;  // strictly decreases: length >= 18
    rv.guided_table.push_back(e);
  }
  return ok();
}

}  // namespace

Expected<ResetVector> parse_reset_vector(const ByteView& img) {
  ResetVector rv;
  if (img.size() < 0x40) return rv;
  const uint64_t size = img.size();
  Guid footer;
  footer.bytes = *img.array<16>(size - kFooterOff);
  if (footer == guids::kOvmfTableFooter) {
    rv.flavor = Flavor::stock;
    EW_CHECK(walk_table(img, rv));
  } else if (img.matches(size - 0x14, std::string_view("VTF\0", 4))) {
    rv.flavor = Flavor::xen_pvh;
    rv.pvh_entry_offset = size - 0x30;
  }
  return rv;
}

const char* flavor_name(Flavor f) {
  switch (f) {
    case Flavor::xen_pvh: return "xen-pvh";
    case Flavor::stock: return "stock";
    case Flavor::unknown: return "unknown";
  }
  return "unknown";
}

}  // namespace elfwrap
