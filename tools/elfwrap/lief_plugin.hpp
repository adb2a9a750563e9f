// LIEF's second opinion for the CLI, loaded only when an image has an ELF header to read.
#pragma once

#include "elfwrap/image.hpp"

namespace elfwrap::cli {

// An ElfCrossCheck that loads elfwrap-lief.so on its first call (next to the elfwrap binary, or
// in ELFWRAP_PLUGIN_DIR), then runs LIEF's check; when the plugin cannot be loaded it says so in
// a warning and the checked reader's result stands.
void lazy_lief_cross_check(std::span<const std::byte> bytes, const ElfWrapper& w, std::vector<Warning>& warns);

}  // namespace elfwrap::cli
