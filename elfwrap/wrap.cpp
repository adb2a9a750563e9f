#include "elfwrap/wrap.hpp"

#include <algorithm>
#include <cstring>

#include "elfwrap/compat.hpp"
#include "elfwrap/elf_writer.hpp"
#include "elfwrap/nv_template.hpp"
#include "elfwrap/reader.hpp"

namespace elfwrap {
namespace {

// Byte `off` of the output: the prefix, then the input.
uint8_t output_byte(const WrapPlan& p, std::span<const std::byte> input, uint64_t off) {
  const auto b = off < p.prefix.size() ? p.prefix[off] : input[off - p.prefix.size()];
  return std::to_integer<uint8_t>(b);
}

// Nothing but a variable store (or an old header) may lie in [0, end), what wrap or unwrap
// replaces: a volume there, e.g. an NV volume with its variables after an ELF header, would be
// destroyed without a word. Volumes before index `from` are the caller's to replace.
Status check_no_volume_below(const Image& img, uint64_t end, size_t from, const std::string& area, const std::string& action) {
  for (size_t i = from; i < img.volumes.size(); ++i) {
    const Volume& fv = img.volumes[i];
    if (fv.offset < end)
      return error_at(fv.offset, "FV[" + std::to_string(i) + "]",
                      std::string(role_name(fv.role)) + " volume inside [0x0, " + hex(end) + "), the area " + area + ": " + action +
                          " would destroy it");
  }
  return ok();
}

Status check_live_variables(const NvStore& nv, const std::string& path, const WrapOptions& o, size_t& discarded) {
  discarded = nv.live_variables();
  if (discarded == 0 || o.force || o.saving_vars) return ok();
  return error_at(nv.store_offset, path,
                  "the variable store holds " + std::to_string(discarded) +
                      " variable(s) (user data: boot entries, Secure Boot keys) that wrapping would erase; "
                      "keep them with --save-vars FILE (writes the NV region as a VARS file first), "
                      "or discard them with --force");
}

// Bytes wrapping erases that hold something nobody has accounted for: [from, to) of the input
// must be erased flash, or the user says what to do with it.
Status check_erased(std::span<const std::byte> bytes, uint64_t from, uint64_t to, const std::string& what, const WrapOptions& o,
                    bool can_save) {
  if (o.force || (can_save && o.saving_vars) || from >= to) return ok();
  const ByteView v(bytes);
  const uint64_t first = v.find_not(from, 0xff);
  if (first >= to) return ok();
  uint64_t n = 0;
  for (uint64_t i = first; i < to; ++i) n += std::to_integer<uint8_t>(bytes[i]) != 0xff;
  return error_at(first, "",
                  std::to_string(n) + " non-erased byte(s) in [" + hex(from) + ", " + hex(to) + "), " + what +
                      ": wrapping would erase them; " + (can_save ? "keep them with --save-vars FILE (the whole NV region), or " : "") +
                      "discard them with --force");
}

// CODE-only input: a region in front so that the result is a whole number of MiB.
Status plan_code_prefix(const Image& img, const WrapOptions& o, uint64_t header_size, WrapPlan& p) {
  if (o.vars) {
    const Image& v = *o.vars->image;
    if (!v.nvstore || !v.nvstore->fv_present || !v.nvstore->layout || v.volumes.size() != 1)
      return with_file(error_at(0, "", "not a VARS file: expected exactly one NV volume of an OVMF layout (0x20000 or 0x84000)"),
                       o.vars->name);
    const CompatReport fit = check_vars(img, v);
    if (!fit.ok())
      return with_file(plain_error("does not fit this CODE image (elfwrap vars check): " + fit.differences.front()), o.vars->name);
    auto st = check_live_variables(*v.nvstore, "FV[0]/VarStore", o, p.discarded_variables);
    if (!st) return with_file(st.take_error(), o.vars->name);
    p.layout = v.nvstore->layout;
    p.prefix.assign(o.vars->bytes.begin(), o.vars->bytes.end());
    p.erase_end = p.layout->varstore_size;
    p.nv_region_length = p.layout->region_size;
    return ok();
  }
  if (img.size % 0x1000)  // the prefix would shift every volume off its alignment
    return error_at(
        img.size, "",
        "CODE-only image size " + hex(img.size) + " is not a whole number of 4 KiB flash blocks: cannot put a region in front of it");
  p.layout = expected_layout(img);  // the store OVMF's flash layout puts in front of this CODE
  if (p.layout) {
    p.prefix = blank_nv_region(*p.layout);
    p.erase_end = p.layout->varstore_size;
    return ok();
  }
  uint64_t room = align_up(img.size, kMiB) - img.size;  // no OVMF layout: erased bytes to a whole MiB
  if (room < header_size) room += kMiB;
  p.prefix.assign(room, std::byte{0xff});
  p.erase_end = room;
  return ok();
}

// Where the header goes and what is erased, by kind of input.
Status plan_source(const Image& img, std::span<const std::byte> bytes, const WrapOptions& o, WrapPlan& p) {
  const uint64_t header_size = elf_header_size(o.elf_class, o.target == Target::pvh);
  const Volume* code = first_code_volume(img);
  if (!code) return error_at(0, "", "no code volume: this is a VARS file, not a firmware image");
  if (o.vars && (img.elf || img.nvstore)) return error_at(0, "", "--vars is for CODE-only images, but this image already has an NV region");
  if (img.elf) {
    p.source = Source::elf;
    p.layout = img.nvstore ? img.nvstore->layout : nullptr;
    p.erase_end = p.layout ? p.layout->varstore_size : code->offset;
  } else if (img.nvstore && img.volumes.front().role == VolumeRole::nvstore && img.volumes.front().offset == 0) {
    p.source = Source::raw;
    p.layout = img.nvstore->layout;
    if (!p.layout)
      return error_at(
          0x20, "FV[0]",
          "NV volume length " + hex(img.volumes.front().length) + " matches no OVMF layout: cannot tell where the variable store ends");
    p.erase_end = p.layout->varstore_size;
    p.nv_region_length = p.layout->region_size;
    EW_CHECK(check_live_variables(*img.nvstore, "FV[0]/VarStore", o, p.discarded_variables));
  } else if (code->offset == 0) {
    p.source = Source::code;
    EW_CHECK(plan_code_prefix(img, o, header_size, p));
  } else {
    return error_at(0, "", "the image starts with " + hex(code->offset) + " bytes that are neither an ELF header nor a firmware volume");
  }
  if (p.erase_end < header_size)
    return error_at(0, "",
                    "the area in front of the first volume (" + hex(p.erase_end) + " bytes) is too small for the " + hex(header_size) +
                        "-byte ELF header");
  if (p.source == Source::code) return ok();  // the header goes into a region put in front
  // The NV volume at 0 of a raw image is the one whose store the header replaces.
  EW_CHECK(check_no_volume_below(img, p.erase_end, p.source == Source::raw ? 1 : 0,
                                 "the ELF header and the erased variable store would replace", "wrapping"));
  // What else lies in the erased area must be erased flash, or the user says what to do with it.
  if (p.source == Source::elf)
    return check_erased(bytes, std::min(img.elf->header_end, p.erase_end), std::min<uint64_t>(p.erase_end, img.size),
                        "after the old ELF header", o, false);
  return check_erased(bytes, img.nvstore->free_offset, p.erase_end,
                      "past the variables the store's walk reached (store Size " + hex(img.nvstore->store_size) + ")", o, true);
}

Status plan_pvh_entry(const Image& img, std::span<const std::byte> input, const WrapOptions& o, WrapPlan& p) {
  if (o.entry_offset) {
    const uint64_t e = *o.entry_offset;
    if (e >= p.image_size || p.image_size - e < 16)
      return error_at(0, "",
                      "--entry-offset " + hex(e) + " is outside the image (" + hex(p.image_size) + " bytes) or in its last 16 bytes");
    if (e < p.erase_end)
      return error_at(0, "",
                      "--entry-offset " + hex(e) + " is inside [0x0, " + hex(p.erase_end) +
                          "), the area the ELF header and the erased variable store take: there is no code there");
    bool erased = true;
    for (uint64_t i = 0; i < 16; ++i) erased = erased && output_byte(p, input, e + i) == 0xff;
    if (erased) return error_at(e, "", "--entry-offset " + hex(e) + " points at erased flash (0xff bytes), not at code");
    p.entry_offset = e;
  } else if (img.reset_vector.flavor == Flavor::xen_pvh) {
    p.entry_offset = p.image_size - kPvhEntryFromEnd;
  } else if (img.reset_vector.flavor == Flavor::stock) {
    return error_at(img.size - 0x30, "reset-vector",
                    "this is OVMF's stock reset vector (OvmfPkg/ResetVector, with the OVMF GUIDed table): it has no "
                    "32-bit PVH entry, so the image cannot boot as a PVH guest; build OvmfXen "
                    "(scripts/build-ovmfxen.sh), or wrap for HVM with --target hvm");
  } else {
    return error_at(img.size - 0x30, "reset-vector",
                    std::string("no PVH entry found: no OVMF GUIDed table, and ") +
                        (img.reset_vector.vtf ? "the bytes at end-0x30 are not XenResetVector's jump to its 32-bit PVH entry"
                                              : "no \"VTF\\0\" at end-0x14 (no reset vector at all)") +
                        "; build OvmfXen (scripts/build-ovmfxen.sh), or give the entry with --entry-offset if you know it");
  }
  p.entry = p.load_address + *p.entry_offset;
  return ok();
}

// What Xen itself puts in the MMIO hole of a PVH guest, where no image may go.
Status check_hole_ranges(uint64_t a, uint64_t b) {
  if (overlaps(a, b, kSpecialPagesStart, kSpecialPagesEnd))
    return error_at(0, "",
                    "the image [" + hex(a) + ", " + hex(b) + ") overlaps Xen's special pages [" + hex(kSpecialPagesStart) + ", " +
                        hex(kSpecialPagesEnd) + ") (console, xenstore, ioreq pages)");
  if (overlaps(a, b, kLapicBase, kLapicBase + kPage))
    return error_at(0, "",
                    "the image [" + hex(a) + ", " + hex(b) + ") overlaps the local APIC page at " + hex(kLapicBase) +
                        ", which Xen emulates for PVH guests");
  return ok();
}

Status plan_load_address(const WrapOptions& o, WrapPlan& p) {
  const bool pvh = o.target == Target::pvh;
  if (p.image_size > k4GiB - kMiB) return error_at(0, "", "image of " + hex(p.image_size) + " bytes does not fit below 4 GiB");
  const uint64_t a = o.load_address.value_or(pvh ? kPvhDefaultLoad : k4GiB - p.image_size);
  if (a < kMiB) return error_at(0, "", "load address " + hex(a) + " is below 1 MiB (0x100000)");
  if (a % 0x1000) return error_at(0, "", "load address " + hex(a) + " is not 4 KiB aligned");
  if (a > k4GiB - p.image_size)
    return error_at(0, "", "load address " + hex(a) + " + image size " + hex(p.image_size) + " ends above 4 GiB");
  if (pvh && a + p.image_size > kMmioHoleStart && !o.allow_mmio_hole)
    return error_at(0, "",
                    "the image would end at " + hex(a + p.image_size) +
                        ", inside the MMIO hole libxl gives PVH guests (from 0xfc000000); stock Xen 4.17 "
                        "cannot load it there (--allow-mmio-hole writes it anyway: pvhboot populates that window)");
  if (pvh) EW_CHECK(check_hole_ranges(a, a + p.image_size));
  p.load_address = a;
  return ok();
}

}  // namespace

Expected<WrapPlan> plan_wrap(const Image& img, std::span<const std::byte> input, const WrapOptions& o) {
  WrapPlan p;
  p.target = o.target;
  p.elf_class = o.elf_class;
  if (o.elf_class != 32 && o.elf_class != 64) return error_at(0, "", "ELF class " + std::to_string(o.elf_class) + " is neither 32 nor 64");
  EW_CHECK(plan_source(img, input, o, p));
  p.image_size = p.prefix.size() + img.size;
  EW_CHECK(plan_load_address(o, p));
  ElfHeaderSpec spec{o.elf_class, 0, p.load_address, p.image_size, std::nullopt};
  if (o.target == Target::pvh) {
    EW_CHECK(plan_pvh_entry(img, input, o, p));
    spec.phys32_entry = static_cast<uint32_t>(p.entry);
  } else {
    if (!img.reset_vector.vtf)
      return error_at(img.size - 0x14, "reset-vector",
                      "no reset vector at the end of the image (no \"VTF\\0\" at end-0x14): as HVM firmware it would be started "
                      "at 0xfffffff0 in whatever bytes are there");
    p.entry = p.load_address + p.image_size - kResetVectorFromEnd;  // 0xfffffff0 at the default
    if (p.image_size % kMiB)
      p.warnings.push_back("image size " + hex(p.image_size) +
                           " is not a whole number of MiB: hvmloader rounds up "
                           "to " +
                           hex(align_up(p.image_size, kMiB)) + " and the image would not end at 4 GiB");
  }
  spec.entry = p.entry;
  p.header = build_elf_header(spec);
  return p;
}

std::vector<std::byte> apply_wrap(const WrapPlan& p, std::span<const std::byte> input) {
  std::vector<std::byte> out;
  out.reserve(p.prefix.size() + input.size());
  out.insert(out.end(), p.prefix.begin(), p.prefix.end());
  out.insert(out.end(), input.begin(), input.end());
  std::fill(out.begin(), out.begin() + static_cast<ptrdiff_t>(p.erase_end), std::byte{0xff});
  std::copy(p.header.begin(), p.header.end(), out.begin());
  return out;
}

std::vector<std::span<const std::byte>> wrap_pieces(const WrapPlan& p, std::span<const std::byte> input,
                                                    std::span<const std::byte> erased) {
  std::span<const std::byte> prefix(p.prefix);
  std::vector<std::span<const std::byte>> out = {std::span<const std::byte>(p.header), erased.first(p.erase_end - p.header.size())};
  if (p.erase_end < prefix.size()) {
    out.push_back(prefix.subspan(p.erase_end));
    out.push_back(input);
  } else {
    out.push_back(input.subspan(p.erase_end - prefix.size()));
  }
  return out;
}

std::vector<std::byte> nv_region_before(const WrapPlan& p, std::span<const std::byte> input) {
  if (p.source == Source::code)
    return {p.prefix.begin(), p.prefix.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(p.nv_region_length, p.prefix.size()))};
  const auto part = input.subspan(0, std::min<uint64_t>(p.nv_region_length, input.size()));
  return {part.begin(), part.end()};
}

Expected<UnwrapPlan> plan_unwrap(const Image& img) {
  if (!img.elf) return error_at(0, "", "no ELF header at offset 0: nothing to unwrap");
  UnwrapPlan u;
  if (img.nvstore && img.nvstore->layout) {
    u.layout = img.nvstore->layout;
    u.restore_end = u.layout->varstore_size;
    EW_CHECK(check_no_volume_below(img, u.restore_end, 0, "a blank variable store would overwrite", "unwrapping"));
    return u;
  }
  const Volume* code = first_code_volume(img);
  if (!code) return error_at(0, "", "no firmware volume after the ELF header");
  u.strip = code->offset;  // a CODE-only image that elfwrap gave a non-layout prefix
  EW_CHECK(check_no_volume_below(img, u.strip, 0, "in front of the first code volume, which is dropped", "unwrapping"));
  return u;
}

std::vector<std::byte> apply_unwrap(const UnwrapPlan& u, std::span<const std::byte> input) {
  std::vector<std::byte> out(input.begin() + static_cast<ptrdiff_t>(u.strip), input.end());
  if (u.layout) {
    const auto blank = blank_nv_region(*u.layout);
    std::copy(blank.begin(), blank.begin() + static_cast<ptrdiff_t>(u.restore_end), out.begin());
  }
  return out;
}

const char* target_name(Target t) { return t == Target::pvh ? "pvh" : "hvm"; }
const char* source_name(Source s) { return s == Source::raw ? "raw" : s == Source::code ? "code" : "elf"; }

}  // namespace elfwrap
