// Xen's own reading of a kernel image: libxenguest's xc_dom parse in dummy mode
// (XC_OPENFLAG_DUMMY: no hypervisor needed), as libxl would run it for a PVH guest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "elfwrap/error.hpp"

namespace loader {

struct XenParse {
  int rc = -1;                    // xc_dom_parse_image()'s return code
  bool pvh = false;               // libelf said "Found PVH image"
  std::string guest_type;         // e.g. "hvm-3.0-x86_32"
  uint64_t seg_start = 0, seg_end = 0;  // kernel_seg: what would be loaded, [start, end)
  std::optional<uint64_t> phys32_entry; // from libelf's "PHYS32_ENTRY = 0x..." log line
  std::string log;                // everything libxenguest logged
};

// Runs the parse on `image` (libxenguest keeps a pointer to it only for the duration).
elfwrap::Expected<XenParse> xen_parse(std::span<const std::byte> image);

}  // namespace loader
