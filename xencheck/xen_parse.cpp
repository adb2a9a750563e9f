#include "xencheck/xen_parse.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>

extern "C" {
#include <xenctrl.h>
#include <xenguest.h>
#include <xentoollog.h>
}

namespace xencheck {
namespace {

// Captures libxenguest's log in memory.
struct Log {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = nullptr;
  xentoollog_logger_stdiostream* lg = nullptr;
  Log() {
    f = open_memstream(&buf, &len);
    if (f) lg = xtl_createlogger_stdiostream(f, XTL_DEBUG, 0);
  }
  std::string text() {
    if (f) std::fflush(f);
    return buf ? std::string(buf, len) : std::string();
  }
  ~Log() {
    if (lg) xtl_logger_destroy(reinterpret_cast<xentoollog_logger*>(lg));
    if (f) std::fclose(f);
    std::free(buf);
  }
};

void fill_result(elfwrap::XenParseFacts& r, struct xc_dom_image* dom, const std::string& log) {
  r.log = log;
  r.pvh = log.find("Found PVH image") != std::string::npos;
  if (dom->guest_type) r.guest_type = dom->guest_type;
  r.seg_start = dom->kernel_seg.vstart;
  r.seg_end = dom->kernel_seg.vend;
  std::smatch m;
  static const std::regex re("PHYS32_ENTRY = 0x([0-9a-fA-F]+)");
  if (std::regex_search(log, m, re)) r.phys32_entry = std::stoull(m[1].str(), nullptr, 16);
}

}  // namespace

elfwrap::Expected<elfwrap::XenParseFacts> xen_parse(std::span<const std::byte> image) {
  Log log;
  if (!log.lg) return elfwrap::plain_error("cannot create a log for libxenguest");
  auto* logger = reinterpret_cast<xentoollog_logger*>(log.lg);
  xc_interface* xch = xc_interface_open(logger, logger, XC_OPENFLAG_DUMMY);
  if (!xch) return elfwrap::plain_error("xc_interface_open(XC_OPENFLAG_DUMMY) failed");
  struct xc_dom_image* dom = xc_dom_allocate(xch, nullptr, nullptr);
  if (!dom) {
    xc_interface_close(xch);
    return elfwrap::plain_error("xc_dom_allocate failed");
  }
  // What libxl sets for a PVH guest; without the caps the compat check fails (docs/xen-layout.md).
  dom->container_type = xc_dom_image::XC_DOM_HVM_CONTAINER;
  std::snprintf(dom->xen_caps, sizeof dom->xen_caps, "%s", "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
  elfwrap::XenParseFacts r;
  r.rc = xc_dom_kernel_mem(dom, image.data(), image.size());
  if (r.rc == 0) r.rc = xc_dom_parse_image(dom);
  fill_result(r, dom, log.text());
  xc_dom_release(dom);
  xc_interface_close(xch);
  return r;
}

}  // namespace xencheck
