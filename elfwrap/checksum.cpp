#include "elfwrap/checksum.hpp"

#include <algorithm>
#include <array>

namespace elfwrap {

uint32_t crc32(std::span<const std::byte> data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (std::byte b : data) c = table[(c ^ std::to_integer<uint8_t>(b)) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

uint16_t sum16(std::span<const std::byte> data) {
  uint16_t sum = 0;
  for (size_t i = 0; i + 1 < data.size(); i += 2)
    sum = static_cast<uint16_t>(sum + (std::to_integer<uint16_t>(data[i]) | std::to_integer<uint16_t>(data[i + 1]) << 8));
  return sum;
}

uint32_t ftw_header_crc(std::span<const std::byte> header) {
  std::array<std::byte, 0x20> copy{};
  std::copy_n(header.begin(), std::min<size_t>(header.size(), copy.size()), copy.begin());
  std::fill(copy.begin() + 0x10, copy.begin() + 0x14, std::byte{0xff});  // Crc
  copy[0x14] |= std::byte{0x03};                                         // WorkingBlockValid/Invalid
  return crc32(copy);
}

}  // namespace elfwrap
