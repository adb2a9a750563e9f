// ELF constants and the sizes of the structures elfwrap reads and writes.
#pragma once
#include <cstdint>

namespace elfwrap::elf {
inline constexpr uint8_t kClass32 = 1, kClass64 = 2, kDataLsb = 1, kVersionCurrent = 1;
inline constexpr uint8_t kOsAbiSysV = 0, kOsAbiNetBsd = 2, kOsAbiLinux = 3;
inline constexpr uint16_t kEtExec = 2;
inline constexpr uint16_t kEm386 = 3, kEmX86_64 = 62;
inline constexpr uint32_t kPtLoad = 1, kPtNote = 4;
inline constexpr uint32_t kPfX = 1, kPfW = 2, kPfR = 4;
inline constexpr uint32_t kEhdr32Size = 52, kEhdr64Size = 64, kPhdr32Size = 32, kPhdr64Size = 56;
inline constexpr uint32_t kXenElfnotePhys32Entry = 18;
inline constexpr uint32_t kMaxPhnum = 64;  // no firmware wrapper needs more; bounds the walk
inline constexpr uint32_t kMaxNotes = 256;
}  // namespace elfwrap::elf
