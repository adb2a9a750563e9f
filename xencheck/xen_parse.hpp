// Xen's own reading of a kernel image: libxenguest's xc_dom parse in dummy mode
// (XC_OPENFLAG_DUMMY: no hypervisor needed), as libxl runs it for a PVH guest. The one piece of
// the project that needs libxenguest without needing Xen: elfwrap verify and pvhboot plan both
// ask it, and judge its answer with elfwrap::xen_disagreements() (elfwrap/verify.hpp).
#pragma once

#include <cstddef>
#include <span>

#include "elfwrap/error.hpp"
#include "elfwrap/verify.hpp"

namespace xencheck {

// Runs the parse on `image` (libxenguest keeps a pointer to it only for the duration). An error
// only when libxenguest could not be set up; a refusal is a result (rc != 0 or pvh false).
elfwrap::Expected<elfwrap::XenParseFacts> xen_parse(std::span<const std::byte> image);

}  // namespace xencheck
