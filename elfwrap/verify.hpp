// Would a loader accept this image, and load what the firmware needs where it needs it?
// Per-loader rules from FACTS.md §2 (Xen libelf 4.17, QEMU 7.2 -kernel, rust-vmm linux-loader,
// hvmloader). Pure; the real Xen parse (libxenguest, see loader/xen_parse.hpp) is passed in
// as facts by the caller so that this library needs no Xen.
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

struct XenParseFacts {  // what libxenguest's own parse said
  int rc = -1;
  bool pvh = false;
  uint64_t seg_start = 0, seg_end = 0;
  std::optional<uint64_t> phys32_entry;
  std::string log_excerpt;
};

struct Verdict {
  Loader loader;
  std::vector<std::string> problems;  // why it would refuse or mis-load
  std::vector<std::string> notes;     // what it would do
  std::optional<uint64_t> entry;      // where it would start the firmware
  bool ok() const { return problems.empty(); }
};

Verdict verify_for(Loader l, const Image& img, std::span<const std::byte> bytes, const XenParseFacts* xen = nullptr);

}  // namespace elfwrap
