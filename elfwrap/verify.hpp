// Would a loader accept this image, and load what the firmware needs where it needs it?
// Per-loader rules from docs/loaders.md (Xen libelf 4.17, QEMU 7.2 -kernel, rust-vmm linux-loader,
// hvmloader). Pure; the real Xen parse (libxenguest, see xencheck/xen_parse.hpp) is passed in
// as facts by the caller so that this library needs no Xen. Without them (elfwrap built with
// ELFWRAP_WITH_XEN=OFF) the xen verdict says the check was not run.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "elfwrap/image.hpp"

namespace elfwrap {

enum class Loader { xen, qemu, linux_loader, hvmloader };
const char* loader_name(Loader l);
std::optional<Loader> loader_by_name(std::string_view name);

struct XenParseFacts {                           // what libxenguest's own parse said (xencheck/xen_parse.hpp)
  int rc = -1;                                   // xc_dom_parse_image()'s return code
  bool pvh = false;                              // libelf said "Found PVH image"
  std::string guest_type;                        // e.g. "hvm-3.0-x86_32"
  uint64_t seg_start = 0, seg_end = 0;           // kernel_seg: what it would load, [start, end)
  std::optional<uint64_t> phys32_entry;          // from libelf's "PHYS32_ENTRY = 0x..." line
  std::string log;                               // everything libxenguest logged
  std::string log_tail(size_t lines = 3) const;  // its last lines, on one line (why it gave up)
};

// Where libxenguest's parse differs from what should be loaded ([seg_start, seg_end), and the
// entry when known): each difference a sentence; empty when it agrees.
std::vector<std::string> xen_disagreements(const XenParseFacts& x, uint64_t seg_start, uint64_t seg_end, std::optional<uint64_t> entry);

struct Verdict {
  Loader loader;
  std::vector<std::string> problems;  // why it would refuse or mis-load
  std::vector<std::string> notes;     // what it would do
  std::optional<uint64_t> entry;      // where it would start the firmware
  bool ok() const { return problems.empty(); }
};

// `xen`: libxenguest's parse for Loader::xen; `xen_missing`: why there is none (said in a note).
Verdict verify_for(Loader l, const Image& img, std::span<const std::byte> bytes, const XenParseFacts* xen = nullptr,
                   const std::string& xen_missing = {});

}  // namespace elfwrap
