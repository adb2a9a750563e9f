// parse_image(): the top-level walk that ties the parsers together, and the model's names.
#include <algorithm>

#include "elfwrap/parse_internal.hpp"

namespace elfwrap {
namespace {

// Every volume of the image, from offset 0 whatever an ELF header claims (a program-header table
// that runs up to a volume must not hide it); top-level gaps are listed from `gaps_from` on (the
// end of the ELF header). Volumes are found only at 8-byte aligned offsets (the rule find_fv()
// applies too). In rescue mode a code volume that does not parse becomes a warning.
Status scan_volumes(const ByteView& v, uint64_t gaps_from, const ParseOptions& opts, Image& img) {
  size_t budget = kMaxListed;
  uint64_t pos = 0;
  while (pos < v.size()) {
    if (pos % 8 == 0 && looks_like_fv(v, pos)) {
      if (img.volumes.size() >= kMaxVolumes) return error_at(pos, "", "more than 1024 firmware volumes");
      auto fv = parse_volume(v, pos, img.volumes.size(), img.warnings, budget);
      if (fv) {
        pos += fv->length;  // FvLength > 0, checked
        img.volumes.push_back(std::move(*fv));
        continue;
      }
      Guid fs;
      fs.bytes = *v.array<16>(pos + 0x10);
      if (!opts.rescue || fs == guids::kNvStoreFv) return fv.take_error();
      img.warnings.push_back({pos, "", "rescue: volume not parsed, skipped: " + to_string(fv.error())});
    }
    const uint64_t next = find_fv(v, (pos + 8) & ~uint64_t{7}, v.size());
    const uint64_t from = std::max(pos, gaps_from);
    if (next > from) img.gaps.push_back({from, next - from, v.all_equal(from, next - from, 0xff)});
    pos = next;
  }
  uint64_t unlisted = 0;
  for (const auto& fv : img.volumes) unlisted += fv.unlisted_files() + fv.unlisted_gaps;
  if (unlisted)
    img.warnings.push_back({0, "",
                            "the image has more FFS files and gaps than elfwrap lists (" + std::to_string(kMaxListed) +
                                "): " + std::to_string(unlisted) + " checked but not listed"});
  return ok();
}

Status find_nvstore(const ByteView& v, Image& img) {
  for (size_t i = 0; i < img.volumes.size(); ++i) {
    if (img.volumes[i].role != VolumeRole::nvstore) continue;
    EW_TRY(NvStore nv, parse_nvstore(v, img.volumes[i], i, img.warnings));
    img.nvstore = std::move(nv);
    return ok();
  }
  img.nvstore = detect_headerless_nvstore(v, img.warnings);
  return ok();
}

}  // namespace

bool looks_like_elf(std::span<const std::byte> bytes) {
  return ByteView(bytes).matches(0,
                                 "\x7f"
                                 "ELF");
}

Expected<ElfWrapper> parse_elf(std::span<const std::byte> bytes, std::vector<Warning>& warnings) {
  if (!looks_like_elf(bytes)) return error_at(0, "ELF header", "no ELF magic (\\x7fELF)");
  return parse_elf_wrapper(ByteView(bytes), warnings);
}

Expected<Image> parse_image(std::span<const std::byte> bytes, const ParseOptions& opts) {
  const ByteView v(bytes);
  Image img;
  img.size = v.size();
  if (v.size() == 0) return error_at(0, "", "file is empty");
  uint64_t start = 0;
  if (looks_like_elf(bytes)) {
    EW_TRY(ElfWrapper w, parse_elf(bytes, img.warnings));
    if (opts.elf_cross_check) opts.elf_cross_check(bytes, w, img.warnings);
    start = w.header_end;
    img.elf = std::move(w);
  }
  EW_CHECK(scan_volumes(v, start, opts, img));
  for (size_t i = 0; img.elf && i < img.volumes.size(); ++i)
    if (img.volumes[i].offset < start)
      return error_at(img.volumes[i].offset, "FV[" + std::to_string(i) + "]",
                      "volume inside the ELF header's area [0x0, " + hex(start) +
                          ") (ELF header, program headers, notes): the header and the volume overlap");
  EW_CHECK(find_nvstore(v, img));
  auto rv = parse_reset_vector(v);
  if (rv)
    img.reset_vector = std::move(*rv);
  else if (opts.rescue)
    img.warnings.push_back({rv.error().offset, rv.error().path, "rescue: reset vector not parsed: " + rv.error().message});
  else
    return rv.take_error();
  if (img.volumes.empty() && !img.nvstore)
    return error_at(0, "", "no firmware volume found (no \"_FVH\" signature at an 8-byte aligned volume header)");
  return img;
}

const Volume* first_code_volume(const Image& img) {
  for (const auto& fv : img.volumes)
    if (fv.role != VolumeRole::nvstore) return &fv;
  return nullptr;
}

const NvLayout* expected_layout(const Image& img) {
  if (img.nvstore && img.nvstore->layout) return img.nvstore->layout;
  for (const NvLayout* l : {&kLayout2M, &kLayout4M}) {
    const uint64_t flash = img.size + l->region_size;
    if (flash == 0x100000 || flash == 0x200000 || flash == 0x400000) return l;
  }
  return nullptr;
}

std::string to_string(const Warning& w) {
  return (w.path.empty() ? "offset " + hex(w.offset) : w.path + " at " + hex(w.offset)) + ": " + w.message;
}

const char* role_name(VolumeRole r) {
  switch (r) {
    case VolumeRole::nvstore:
      return "nvstore";
    case VolumeRole::sec:
      return "sec";
    case VolumeRole::main:
      return "main";
    case VolumeRole::other:
      return "other";
  }
  return "other";
}

const char* ffs_type_name(uint8_t t) {
  static const char* const names[] = {"ALL",
                                      "RAW",
                                      "FREEFORM",
                                      "SECURITY_CORE",
                                      "PEI_CORE",
                                      "DXE_CORE",
                                      "PEIM",
                                      "DRIVER",
                                      "COMBINED_PEIM_DRIVER",
                                      "APPLICATION",
                                      "MM",
                                      "FIRMWARE_VOLUME_IMAGE",
                                      "COMBINED_MM_DXE",
                                      "MM_CORE",
                                      "MM_STANDALONE",
                                      "MM_CORE_STANDALONE"};
  if (t < std::size(names)) return names[t];
  if (t == 0xf0) return "FFS_PAD";
  return "OEM/unknown";
}

std::string ffs_state_name(uint8_t state) {
  static const char* const names[] = {"HEADER_CONSTRUCTION", "HEADER_VALID", "DATA_VALID",
                                      "MARKED_FOR_UPDATE",   "DELETED",      "HEADER_INVALID"};
  for (int b = 5; b >= 0; --b)
    if (state & (1u << b)) return names[b];
  return "NONE";
}

}  // namespace elfwrap
