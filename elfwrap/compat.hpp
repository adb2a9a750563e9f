// Compatibility of firmware pieces a host swaps under guests (pure rules on parsed images).
//  - check_vars(): does this VARS file fit this CODE (or full) image's NV layout?
//  - check_update(): can NEW replace OLD under running or saved guests?
#pragma once

#include <string>
#include <vector>

#include "elfwrap/image.hpp"

namespace elfwrap {

struct CompatReport {
  std::vector<std::string> differences;  // each one a reason for !ok()
  std::vector<std::string> facts;        // what was compared
  bool ok() const { return differences.empty(); }
};

CompatReport check_vars(const Image& code, const Image& vars);
CompatReport check_update(const Image& old_img, const Image& new_img);

}  // namespace elfwrap
