// The end of the image: which reset vector it carries (docs/formats.md, "Reset vectors").
//  stock OvmfPkg/ResetVector: OVMF GUIDed table, footer GUID at end-0x30, u16 length at end-0x32;
//  OvmfPkg/XenResetVector:    no table, "VTF\0" at end-0x14, and at end-0x30 its 32-bit PVH
//                             entry, `jmp xenPVHMain` (Ia16/ResetVectorVtf0.asm): a near or
//                             short jump back into the image. Padding there (older reset vectors
//                             without a PVH entry) is not an entry: such an image is "unknown".
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
    if (rv.guided_table.size() >= kMaxEntries) return error_at(cur, path, "more than 64 entries");
    if (cur - start < kEntryMin)
      return error_at(start, path, "entry at " + hex(cur) + " does not fit in the table (" + hex(cur - start) + " bytes left)");
    GuidedEntry e;
    e.guid.bytes = *img.array<16>(cur - 16);
    e.length = *img.le<uint16_t>(cur - 18);
    if (e.length < kEntryMin || e.length > cur - start)
      return error_at(cur - 18, path,
                      "entry " + e.guid.str() + " length " + hex(e.length) + " is below 0x12 or runs before the table start " + hex(start));
    e.offset = cur - e.length;
    cur = e.offset;  // strictly decreases: length >= 18
    rv.guided_table.push_back(e);
  }
  return ok();
}

// The jump XenResetVector puts at its PVH entry: E9 rel32 or EB rel8, to code below the entry.
std::optional<uint64_t> pvh_jump_target(const ByteView& img, uint64_t entry) {
  const uint8_t op = *img.le<uint8_t>(entry);
  int64_t rel = 0, len = 0;
  if (op == 0xe9) {
    rel = static_cast<int32_t>(*img.le<uint32_t>(entry + 1));
    len = 5;
  } else if (op == 0xeb) {
    rel = static_cast<int8_t>(*img.le<uint8_t>(entry + 1));
    len = 2;
  } else {
    return std::nullopt;
  }
  const int64_t target = static_cast<int64_t>(entry) + len + rel;
  if (target < 0 || static_cast<uint64_t>(target) >= entry || img.all_equal(static_cast<uint64_t>(target), 4, 0xff)) return std::nullopt;
  return static_cast<uint64_t>(target);
}

}  // namespace

Expected<ResetVector> parse_reset_vector(const ByteView& img) {
  ResetVector rv;
  if (img.size() < 0x40) return rv;
  const uint64_t size = img.size();
  Guid footer;
  footer.bytes = *img.array<16>(size - kFooterOff);
  rv.vtf = img.matches(size - 0x14, std::string_view("VTF\0", 4));
  if (footer == guids::kOvmfTableFooter) {
    rv.flavor = Flavor::stock;
    EW_CHECK(walk_table(img, rv));
  } else if (rv.vtf) {
    if (pvh_jump_target(img, size - kFooterOff)) {
      rv.flavor = Flavor::xen_pvh;
      rv.pvh_entry_offset = size - kFooterOff;
    }
  }
  return rv;
}

const char* flavor_name(Flavor f) {
  switch (f) {
    case Flavor::xen_pvh:
      return "xen-pvh";
    case Flavor::stock:
      return "stock";
    case Flavor::unknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace elfwrap
