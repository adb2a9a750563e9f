// Checksums used by firmware structures, shared by the parsers and the writers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace elfwrap {

// CRC-32 (IEEE 802.3, reflected, as edk2's CalculateCrc32).
uint32_t crc32(std::span<const std::byte> data);

// Sum of the little-endian 16-bit words (a valid FV header sums to 0).
uint16_t sum16(std::span<const std::byte> data);

// The CRC of an EFI_FAULT_TOLERANT_WORKING_BLOCK_HEADER (its first 0x20 bytes): computed with the
// Crc field and both state bits at the erase value, as edk2's FtwWorkSpace.c does.
uint32_t ftw_header_crc(std::span<const std::byte> header);

}  // namespace elfwrap
