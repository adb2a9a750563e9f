// Compatibility of firmware pieces a host swaps under guests (pure rules on parsed images).
//  - check_vars(): does this VARS file fit this CODE (or full) image's NV layout?
//  - check_update(): can NEW replace OLD under running or saved guests?
// OVMF's flash is VARS followed by CODE, 1, 2 or 4 MiB in all (OvmfPkg/OvmfPkgDefines.fdf.inc):
// a CODE image of size S expects the NV layout whose region makes S + region a whole flash size.
#pragma once

#include <string>
#include <vector>

#include "elfwrap/image.hpp"

namespace elfwrap {

// The NV layout an image uses (its own NV region) or expects (CODE-only, by flash size).
const NvLayout* expected_layout(const Image& img);

struct CompatReport {
  bool ok = true;
  std::vector<std::string> differences;  // each one a reason for !ok
  std::vector<std::string> facts;        // what was compared
};

CompatReport check_vars(const Image& code, const Image& vars);
CompatReport check_update(const Image& old_img, const Image& new_img);

}  // namespace elfwrap
