// LIEF's reading of an ELF header, compared with the checked reader's (ParseOptions::elf_cross_check).
// In its own library (elfwrap_lief), so that only what links it pays for LIEF.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "elfwrap/image.hpp"

namespace elfwrap {

void lief_cross_check(std::span<const std::byte> bytes, const ElfWrapper& w, std::vector<Warning>& warns);

}  // namespace elfwrap
