#include "elfwrap/nv_template.hpp"

#include "elfwrap/checksum.hpp"

namespace elfwrap {
namespace {

constexpr uint32_t kBlockSize = 0x1000;
constexpr uint16_t kFvHeaderLength = 0x48;

void put(std::vector<std::byte>& b, uint64_t off, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.at(off + i) = std::byte(static_cast<uint8_t>(v >> (8 * i)));
}
void put_guid(std::vector<std::byte>& b, uint64_t off, const Guid& g) {
  for (int i = 0; i < 16; ++i) b.at(off + i) = std::byte{g.bytes[i]};
}

void put_fv_header(std::vector<std::byte>& b, const NvLayout& l) {
  for (int i = 0; i < 16; ++i) b[i] = std::byte{0};  // ZeroVector
  put_guid(b, 0x10, guids::kNvStoreFv);
  put(b, 0x20, l.region_size, 8);
  put(b, 0x28, 0x4856465f, 4);  // "_FVH"
  put(b, 0x2c, 0x0004feff, 4);  // OVMF's attributes (erase polarity 1)
  put(b, 0x30, kFvHeaderLength, 2);
  put(b, 0x32, 0, 2);
  put(b, 0x34, 0, 4);  // ExtHeaderOffset 0, Reserved 0, Revision below
  put(b, 0x37, 2, 1);
  put(b, 0x38, l.region_size / kBlockSize, 4);
  put(b, 0x3c, kBlockSize, 4);
  put(b, 0x40, 0, 8);  // block map terminator
  put(b, 0x32, static_cast<uint16_t>(0x10000 - sum16(std::span(b).first(kFvHeaderLength))), 2);
}

void put_store_header(std::vector<std::byte>& b, const NvLayout& l) {
  put_guid(b, kFvHeaderLength, guids::kAuthVarStore);
  put(b, kFvHeaderLength + 0x10, l.varstore_size - kFvHeaderLength, 4);
  put(b, kFvHeaderLength + 0x14, 0x5a, 1);  // VARIABLE_STORE_FORMATTED
  put(b, kFvHeaderLength + 0x15, 0xfe, 1);  // VARIABLE_STORE_HEALTHY
  put(b, kFvHeaderLength + 0x16, 0, 6);     // Reserved, Reserved1
}

// EFI_FAULT_TOLERANT_WORKING_BLOCK_HEADER with WorkingBlockValid programmed.
void put_ftw_header(std::vector<std::byte>& b, const NvLayout& l) {
  const uint64_t off = l.ftw_working_offset;
  put_guid(b, off, guids::kFtwWorkingBlock);
  put(b, off + 0x14, 0xfe, 1);
  put(b, off + 0x18, l.ftw_working_size - 0x20, 8);  // WriteQueueSize
  put(b, off + 0x10, ftw_header_crc(std::span(b).subspan(off, 0x20)), 4);
}

}  // namespace

std::vector<std::byte> blank_nv_region(const NvLayout& l) {
  std::vector<std::byte> b(l.region_size, std::byte{0xff});
  put_fv_header(b, l);
  put_store_header(b, l);
  put_ftw_header(b, l);
  return b;
}

}  // namespace elfwrap
