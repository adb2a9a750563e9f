// A pristine NV region of an OVMF layout, as edk2's OvmfPkg/VarStore.fdf.inc lays it out
// (and Debian ships as OVMF_VARS.fd / OVMF_VARS_4M.fd): NV volume header, empty authenticated
// variable store, erased event log, FTW working block header, erased spare area.
#pragma once

#include <cstddef>
#include <vector>

#include "elfwrap/image.hpp"

namespace elfwrap {

std::vector<std::byte> blank_nv_region(const NvLayout& layout);

}  // namespace elfwrap
