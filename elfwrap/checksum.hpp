// Checksums used by firmware structures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace elfwrap {

// CRC-32 (IEEE 802.3, reflected, as edk2's CalculateCrc32).
uint32_t crc32(std::span<const std::byte> data);

}  // namespace elfwrap
