// Firmware volumes (PI spec vol. 3, EFI_FIRMWARE_VOLUME_HEADER) and the FFS files inside them.
#include <algorithm>
#include <cstring>

#include "elfwrap/layout.hpp"
#include "elfwrap/parse_internal.hpp"

namespace elfwrap {
namespace {

VolumeRole role_of(const Volume& fv) {
  if (fv.filesystem == guids::kNvStoreFv) return VolumeRole::nvstore;
  if (!fv.name) return VolumeRole::other;
  if (*fv.name == guids::kSecFv) return VolumeRole::sec;
  if (*fv.name == guids::kFvMainCompact || *fv.name == guids::kDxeFv) return VolumeRole::main;
  return VolumeRole::other;
}

Status read_block_map(const ByteView& h, const std::string& path, Volume& fv) {
  uint64_t total = 0;
  for (uint64_t off = kFvHeaderFixed;; off += 8) {
    if (off + 8 > fv.header_length)
      return error_at(h.abs(kFvHeaderFixed), path, "block map has no {0,0} terminator within HeaderLength " + hex(fv.header_length));
    BlockMapEntry b{*h.le<uint32_t>(off), *h.le<uint32_t>(off + 4)};
    if (b.num_blocks == 0 && b.length == 0) break;
    const uint64_t bytes = uint64_t{b.num_blocks} * b.length;  // cannot overflow: 32x32 bits
    if (bytes > UINT64_MAX - total) return error_at(h.abs(off), path, "block map overflows 64 bits");
    total += bytes;
    fv.block_map.push_back(b);
  }
  if (total != fv.length)
    return error_at(h.abs(kFvHeaderFixed), path, "block map covers " + hex(total) + " bytes but FvLength is " + hex(fv.length));
  return ok();
}

Status read_ext_header(const ByteView& vol, uint16_t ext_off, const std::string& path, Volume& fv) {
  if (ext_off == 0) return ok();
  if (ext_off < fv.header_length || !vol.contains(ext_off, 20))
    return error_at(vol.abs(0x34), path,
                    "ExtHeaderOffset " + hex(ext_off) + " is outside the volume data (HeaderLength " + hex(fv.header_length) +
                        ", FvLength " + hex(fv.length) + ")");
  const uint32_t ext_size = *vol.le<uint32_t>(ext_off + 16);
  if (ext_size < 20 || !vol.contains(ext_off, ext_size))
    return error_at(vol.abs(ext_off + 16), path, "ExtHeaderSize " + hex(ext_size) + " is below 0x14 or runs past the volume");
  Guid g;
  g.bytes = *vol.array<16>(ext_off);
  fv.name = g;
  return ok();
}

uint32_t ffs_alignment(uint8_t attr) {
  static const uint32_t a1[] = {1, 16, 128, 512, 1024, 4096, 32768, 65536};
  const uint32_t idx = (attr >> 3) & 7;
  return (attr & 0x02) ? (128u * 1024u) << idx : a1[idx];
}

uint8_t decode_state(uint8_t raw, bool polarity) { return polarity ? static_cast<uint8_t>(~raw) : raw; }

Expected<FfsFile> read_ffs(const ByteView& vol, uint64_t off, const Volume& fv, const std::string& path) {
  FfsFile f;
  f.offset = vol.abs(off);
  f.name.bytes = *vol.array<16>(off);
  f.type = *vol.le<uint8_t>(off + 0x12);
  f.attributes = *vol.le<uint8_t>(off + 0x13);
  f.size = *vol.le<uint32_t>(off + 0x14) & 0xffffff;
  const bool large = (f.attributes & 0x01) && fv.filesystem == guids::kFfs3;
  if (large) {
    EW_TRY(f.size, need_le<uint64_t>(vol, off + 0x18, path, "ExtendedSize"));
    f.header_size = 32;
  }
  const uint64_t room = vol.size() - off;
  if (f.size < f.header_size)
    return error_at(f.offset, path, "FFS file size " + hex(f.size) + " is smaller than its header (" + hex(f.header_size) + ")");
  if (f.size > room)
    return error_at(f.offset, path, "FFS file size " + hex(f.size) + " runs past the end of the volume at " + hex(vol.abs(vol.size())));
  uint8_t sum = 0;
  for (uint32_t i = 0; i < f.header_size; ++i)
    if (i != 0x11 && i != 0x17) sum = static_cast<uint8_t>(sum + *vol.le<uint8_t>(off + i));
  f.header_checksum_ok = sum == 0;
  f.state = decode_state(*vol.le<uint8_t>(off + 0x17), fv.attributes & kFvbErasePolarity);
  f.alignment = ffs_alignment(f.attributes);
  return f;
}

// Walks the FFS files of a volume; free space and unrecognised bytes become gaps. Every file is
// checked, but only `budget` files and gaps (shared by the whole image) are kept in the model:
// an image of a million tiny files is parsed in bounded memory and says what it did not list.
Status walk_files(const ByteView& vol, const std::string& vpath, Volume& fv, std::vector<Warning>& warns, size_t& budget) {
  const uint8_t erased = (fv.attributes & kFvbErasePolarity) ? 0xff : 0x00;
  auto keep_gap = [&](Gap g) {
    if (budget == 0) return void(++fv.unlisted_gaps);
    --budget;
    fv.gaps.push_back(g);
  };
  uint64_t off = align_up(fv.header_length, 8);
  while (off < vol.size()) {
    const uint64_t room = vol.size() - off;
    if (room < 24 && !vol.all_equal(off, room, erased)) {  // a tail too short for a file header
      keep_gap({vol.abs(off), room, false});
      break;
    }
    if (vol.all_equal(off, std::min<uint64_t>(room, 24), erased)) {  // free space up to the next data
      uint64_t q = vol.find_not(off, erased);
      if (q < vol.size()) q &= ~uint64_t{7};  // >= off + 24: the first 24 bytes are erased
      keep_gap({vol.abs(off), q - off, true});
      off = q;
      continue;
    }
    const std::string path = vpath + "/FFS[" + std::to_string(fv.file_count) + "]";
    if (looks_like_fv(vol, off))
      return error_at(vol.abs(0), vpath, "FvLength " + hex(fv.length) + " overlaps the volume at " + hex(vol.abs(off)));
    if (fv.file_count >= kMaxFiles) return error_at(vol.abs(off), path, "more than 65536 FFS files");
    EW_TRY(FfsFile f, read_ffs(vol, off, fv, path));
    if (!f.header_checksum_ok) warns.push_back({f.offset, path, "FFS header checksum is invalid"});
    off = align_up(off + f.size, 8);
    ++fv.file_count;
    if (budget == 0) continue;
    --budget;
    fv.files.push_back(std::move(f));
  }
  return ok();
}

}  // namespace

bool looks_like_fv(const ByteView& v, uint64_t off) { return v.matches(off + kFvSignatureOff, "_FVH") && v.all_equal(off, 16, 0); }

uint64_t find_fv(const ByteView& v, uint64_t from, uint64_t to) {
  const auto bytes = v.bytes();
  to = std::min<uint64_t>(to, v.size());
  static constexpr std::byte sig[4] = {std::byte{'_'}, std::byte{'F'}, std::byte{'V'}, std::byte{'H'}};
  uint64_t pos = from + kFvSignatureOff;
  while (pos < to + kFvSignatureOff && pos < v.size()) {
    auto it = std::search(bytes.begin() + static_cast<ptrdiff_t>(pos), bytes.end(), std::begin(sig), std::end(sig));
    if (it == bytes.end()) break;
    const uint64_t hit = static_cast<uint64_t>(it - bytes.begin()) - kFvSignatureOff;
    if (hit >= to) break;
    if (hit % 8 == 0 && looks_like_fv(v, hit)) return hit;
    pos = hit + kFvSignatureOff + 1;
  }
  return to;
}

Expected<Volume> parse_volume(const ByteView& img, uint64_t off, size_t index, std::vector<Warning>& warns, size_t& budget) {
  const std::string path = "FV[" + std::to_string(index) + "]";
  EW_TRY(ByteView h, need_sub(img, off, kFvHeaderFixed, path, "volume header"));
  Volume fv;
  fv.offset = off;
  fv.filesystem.bytes = *h.array<16>(0x10);
  fv.length = *h.le<uint64_t>(0x20);
  fv.attributes = *h.le<uint32_t>(0x2c);
  fv.header_length = *h.le<uint16_t>(0x30);
  fv.checksum = *h.le<uint16_t>(0x32);
  fv.revision = *h.le<uint8_t>(0x37);
  if (fv.length == 0) return error_at(off, path, "FvLength is zero");
  if (fv.length > img.size() - off)
    return error_at(off, path, "FvLength " + hex(fv.length) + " runs past end of image (" + hex(img.size()) + ")");
  if (fv.header_length < kFvHeaderFixed + 16 || fv.header_length % 2)
    return error_at(off + 0x30, path, "HeaderLength " + hex(fv.header_length) + " is not an even size of at least 0x48");
  if (fv.header_length > fv.length)
    return error_at(off + 0x30, path, "HeaderLength " + hex(fv.header_length) + " is beyond FvLength " + hex(fv.length));
  const ByteView vol = *img.sub(off, fv.length);
  EW_CHECK(read_block_map(*vol.sub(0, fv.header_length), path, fv));
  EW_CHECK(read_ext_header(vol, *h.le<uint16_t>(0x34), path, fv));
  fv.checksum_ok = sum16(vol.sub(0, fv.header_length)->bytes()) == 0;
  if (!fv.checksum_ok) warns.push_back({off + 0x32, path, "header checksum " + hex(fv.checksum) + " is invalid"});
  if (fv.revision != 2) warns.push_back({off + 0x37, path, "Revision " + hex(fv.revision) + " is not 2"});
  fv.role = role_of(fv);
  const bool ffs = fv.filesystem == guids::kFfs2 || fv.filesystem == guids::kFfs3;
  if (!ffs && fv.role != VolumeRole::nvstore) warns.push_back({off + 0x10, path, "unknown FileSystemGuid " + fv.filesystem.str()});
  if (ffs) EW_CHECK(walk_files(vol, path, fv, warns, budget));
  if (fv.role == VolumeRole::nvstore) {
    const uint64_t inner = find_fv(vol, 8, vol.size());
    if (inner < vol.size()) return error_at(off, path, "FvLength " + hex(fv.length) + " overlaps the volume at " + hex(off + inner));
  }
  return fv;
}

}  // namespace elfwrap
