#include "loader/xen_backend.hpp"

#include <poll.h>
#include <sys/mman.h>

#include <cstring>

#include "elfwrap/elf_writer.hpp"

extern "C" {
#include <xen/io/console.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenguest.h>
#include <xenstore.h>
}

namespace loader {
namespace {

using Clock = std::chrono::steady_clock;
using elfwrap::hex;
using elfwrap::plain_error;

elfwrap::Error xen_error(const std::string& what) {
  return plain_error(what + " failed: " + std::strerror(errno));
}

// Splits a byte stream into lines.
struct LineBuffer {
  std::string partial;
  template <class F>
  void feed(const char* p, size_t n, F&& emit) {
    for (size_t i = 0; i < n; ++i) {
      if (p[i] == '\n') {
        if (!partial.empty() && partial.back() == '\r') partial.pop_back();
        emit(partial);
        partial.clear();
      } else if (partial.size() < 4096) {
        partial.push_back(p[i]);
      }
    }
  }
};

}  // namespace

std::vector<std::byte> entry_stub(uint32_t entry) {
  const uint64_t header = elfwrap::elf_header_size(32, true);
  elfwrap::ElfHeaderSpec spec;
  spec.elf_class = 32;
  spec.load_address = kStubAddress;
  spec.image_size = header + 7;
  spec.entry = kStubAddress + header;
  spec.phys32_entry = static_cast<uint32_t>(kStubAddress + header);
  std::vector<std::byte> out = elfwrap::build_elf_header(spec);
  const uint8_t code[7] = {0xb8, static_cast<uint8_t>(entry), static_cast<uint8_t>(entry >> 8), static_cast<uint8_t>(entry >> 16),
                           static_cast<uint8_t>(entry >> 24), 0xff, 0xe0};  // mov $entry, %eax; jmp *%eax
  for (uint8_t c : code) out.push_back(static_cast<std::byte>(c));
  return out;
}

struct Domain::Impl {
  xc_interface* xch = nullptr;
  xenforeignmemory_handle* fmem = nullptr;
  xenevtchn_handle* xce = nullptr;
  struct xs_handle* xsh = nullptr;
  uint32_t domid = ~0u;
  bool created = false, destroyed = false;
  unsigned console_port = 0, store_port = 0;
  xen_pfn_t console_pfn = 0, store_pfn = 0;
  xencons_interface* ring = nullptr;
  xenevtchn_port_or_error_t local_port = -1;
  unsigned conring_index = 0;
  LineBuffer pv, dbg;
  std::string dbg_tag;
  Clock::time_point t0 = Clock::now();

  ~Impl() {
    if (ring) xenforeignmemory_unmap(fmem, ring, 1);
    if (xce) xenevtchn_close(xce);
    if (fmem) xenforeignmemory_close(fmem);
    if (xsh) xs_close(xsh);
    if (xch) xc_interface_close(xch);
  }

  elfwrap::Status open() {
    xch = xc_interface_open(nullptr, nullptr, 0);
    if (!xch) return xen_error("xc_interface_open (is this dom0, with xen-privcmd loaded?)");
    fmem = xenforeignmemory_open(nullptr, 0);
    xce = xenevtchn_open(nullptr, 0);
    if (!fmem || !xce) return xen_error("opening foreign memory / event channels");
    xsh = xs_open(XS_OPEN_SOCKETONLY);  // optional: no xenstored, no XenBus for the guest
    return elfwrap::ok();
  }

  elfwrap::Status create(const Plan& p) {
    xen_domctl_createdomain cfg{};
    cfg.flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap;
    cfg.max_vcpus = p.vcpus;
    cfg.max_evtchn_port = 1023;
    cfg.max_grant_frames = 64;
    cfg.max_maptrack_frames = 1024;
    cfg.grant_opts = XEN_DOMCTL_GRANT_version(1);
    cfg.arch.emulation_flags = XEN_X86_EMU_LAPIC;
    if (xc_domain_create(xch, &domid, &cfg) != 0) return xen_error("xc_domain_create");
    created = true;
    // The vCPUs themselves (libxl does the same). Without them Xen 4.17 dereferences a NULL
    // vcpu in vpic_save() when libxc reads the HVM context, and panics.
    if (xc_domain_max_vcpus(xch, domid, p.vcpus) != 0) return xen_error("xc_domain_max_vcpus");
    if (xc_domain_setmaxmem(xch, domid, p.maxmem_kib) != 0) return xen_error("xc_domain_setmaxmem");
    if (xc_set_paging_mempool_size(xch, domid, p.paging_pool_bytes) != 0) return xen_error("xc_set_paging_mempool_size");
    std::vector<e820entry> map;
    for (const auto& e : p.e820) map.push_back({e.addr, e.size, e.type});
    if (xc_domain_set_memory_map(xch, domid, map.data(), static_cast<uint32_t>(map.size())) != 0)
      return xen_error("xc_domain_set_memory_map");
    const int cp = xc_evtchn_alloc_unbound(xch, domid, 0), sp = xc_evtchn_alloc_unbound(xch, domid, 0);
    if (cp < 0 || sp < 0) return xen_error("xc_evtchn_alloc_unbound");
    console_port = static_cast<unsigned>(cp);
    store_port = static_cast<unsigned>(sp);
    return elfwrap::ok();
  }

  elfwrap::Status build_image(const BuildRequest& r) {
    xc_dom_image* dom = xc_dom_allocate(xch, r.cmdline.empty() ? nullptr : r.cmdline.c_str(), nullptr);
    if (!dom) return xen_error("xc_dom_allocate");
    struct Release { xc_dom_image* d; ~Release() { xc_dom_release(d); } } release{dom};
    const Plan& p = r.plan;
    dom->container_type = xc_dom_image::XC_DOM_HVM_CONTAINER;
    std::vector<std::byte> stub;
    if (p.hole_window) {
      stub = entry_stub(static_cast<uint32_t>(p.entry));
      if (xc_dom_kernel_mem(dom, stub.data(), stub.size()) != 0) return xen_error("xc_dom_kernel_mem (entry stub)");
    } else if (xc_dom_kernel_file(dom, r.image_path.c_str()) != 0) {
      return xen_error("xc_dom_kernel_file");
    }
    for (const auto& m : r.module_paths)
      if (xc_dom_module_file(dom, m.c_str(), nullptr) != 0) return xen_error("xc_dom_module_file " + m);
    dom->target_pages = p.memory_bytes >> 12;
    dom->max_vcpus = p.vcpus;
    dom->mmio_start = p.mmio_start;
    dom->mmio_size = k4GiB - p.mmio_start;
    dom->lowmem_end = p.lowmem_end;
    dom->highmem_end = p.highmem_end;
    std::vector<e820entry> map;
    for (const auto& e : p.e820) map.push_back({e.addr, e.size, e.type});
    dom->e820 = map.data();
    dom->e820_entries = static_cast<unsigned>(map.size());
    dom->console_evtchn = console_port;
    dom->xenstore_evtchn = store_port;
    dom->console_domid = 0;
    dom->xenstore_domid = 0;
    if (xc_dom_boot_xen_init(dom, xch, domid) != 0) return xen_error("xc_dom_boot_xen_init");
    if (xc_dom_parse_image(dom) != 0) return xen_error("xc_dom_parse_image");
    if (xc_dom_mem_init(dom, static_cast<unsigned>(p.memory_bytes >> 20)) != 0) return xen_error("xc_dom_mem_init");
    if (xc_dom_boot_mem_init(dom) != 0) return xen_error("xc_dom_boot_mem_init");
    if (xc_dom_build_image(dom) != 0) return xen_error("xc_dom_build_image");
    if (xc_dom_boot_image(dom) != 0) return xen_error("xc_dom_boot_image");
    if (xc_dom_gnttab_init(dom) != 0) return xen_error("xc_dom_gnttab_init");
    if (p.hole_window) EW_CHECK(fill_hole_window(*p.hole_window, r));
    console_pfn = dom->console_pfn;
    store_pfn = dom->xenstore_pfn;
    xc_hvm_param_set(xch, domid, HVM_PARAM_CONSOLE_EVTCHN, console_port);
    xc_hvm_param_set(xch, domid, HVM_PARAM_STORE_EVTCHN, store_port);
    return elfwrap::ok();
  }

  // Populates the hole window (RAM where libxl leaves none) and copies the image's PT_LOADs in.
  elfwrap::Status fill_hole_window(const Placement& w, const BuildRequest& r) {
    // Checked before any effect, without sums that could wrap; the plan made the window from
    // these very PT_LOADs and the checked reader kept their file ranges inside the image.
    for (const auto& s : r.segments)
      if (s.paddr < w.start || s.paddr > w.end || s.memsz > w.end - s.paddr || s.filesz > s.memsz ||
          s.offset > r.image.size() || s.filesz > r.image.size() - s.offset)
        return plain_error("PT_LOAD at " + hex(s.paddr) + " does not fit the hole window");
    const size_t n = (w.end - w.start) / kPage;
    std::vector<xen_pfn_t> pfns(n);
    for (size_t k = 0; k < n; ++k) pfns[k] = (w.start / kPage) + k;
    if (xc_domain_populate_physmap_exact(xch, domid, n, 0, 0, pfns.data()) != 0)
      return xen_error("populating the MMIO hole window [" + hex(w.start) + ", " + hex(w.end) + ")");
    std::vector<int> errs(n);
    auto* mem = static_cast<std::byte*>(xenforeignmemory_map(fmem, domid, PROT_READ | PROT_WRITE, n, pfns.data(), errs.data()));
    if (!mem) return xen_error("mapping the MMIO hole window");
    struct Unmap {
      xenforeignmemory_handle* h;
      void* p;
      size_t n;
      ~Unmap() { xenforeignmemory_unmap(h, p, n); }
    } unmap{fmem, mem, n};
    for (size_t k = 0; k < n; ++k)
      if (errs[k]) {
        errno = -errs[k];
        return xen_error("mapping guest page " + hex(pfns[k] * kPage));
      }
    std::memset(mem, 0, n * kPage);
    for (const auto& s : r.segments) std::memcpy(mem + (s.paddr - w.start), r.image.data() + s.offset, s.filesz);
    return elfwrap::ok();
  }

  // What OvmfXen's XenBus needs: the domain known to xenstored, with its home directory.
  bool register_xenstore(const std::string& name) {
    if (!xsh) return false;
    const std::string home = "/local/domain/" + std::to_string(domid);
    struct xs_permissions perms[2] = {{domid, XS_PERM_NONE}, {0, XS_PERM_READ}};
    const std::string id = std::to_string(domid);
    for (const std::string& dir : {home, home + "/device", home + "/control", home + "/data"}) {
      if (!xs_mkdir(xsh, XBT_NULL, dir.c_str())) return false;
      xs_set_permissions(xsh, XBT_NULL, dir.c_str(), perms, 2);
    }
    xs_write(xsh, XBT_NULL, (home + "/name").c_str(), name.data(), name.size());
    xs_write(xsh, XBT_NULL, (home + "/domid").c_str(), id.data(), id.size());
    return xs_introduce_domain(xsh, domid, store_pfn, store_port);
  }

  // Reads Xen's console ring from conring_index on, in chunks, until there is nothing new.
  template <class F>
  void read_conring(F&& chunk) {
    char buf[65536];
    for (int rounds = 0; rounds < 1024; ++rounds) {  // bounded: at most 64 MiB a call
      unsigned size = sizeof buf;
      char* p = buf;
      if (xc_readconsolering(xch, p, &size, 0, 1, &conring_index) != 0 || size == 0) return;
      chunk(buf, size);
    }
  }

  elfwrap::Status open_console() {
    ring = static_cast<xencons_interface*>(
        xenforeignmemory_map(fmem, domid, PROT_READ | PROT_WRITE, 1, &console_pfn, nullptr));
    if (!ring) return xen_error("mapping the console page " + hex(console_pfn));
    local_port = xenevtchn_bind_interdomain(xce, domid, console_port);
    if (local_port < 0) return xen_error("binding the console event channel");
    dbg_tag = "(d" + std::to_string(domid) + ")";
    read_conring([](const char*, unsigned) {});  // skip what Xen logged before this domain ran
    return elfwrap::ok();
  }
};

Domain::Domain(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Domain::~Domain() { destroy(); }

elfwrap::Expected<std::unique_ptr<Domain>> Domain::build(const BuildRequest& r) {
  auto impl = std::make_unique<Impl>();
  std::unique_ptr<Domain> d(new Domain(std::move(impl)));
  Impl& i = *d->impl_;
  EW_CHECK(i.open());
  auto st = i.create(r.plan);
  d->domid_ = i.domid;
  if (!st) return st.take_error();  // ~Domain destroys what exists
  d->times_.created_s = std::chrono::duration<double>(Clock::now() - i.t0).count();
  EW_CHECK(i.build_image(r));
  d->times_.built_s = std::chrono::duration<double>(Clock::now() - i.t0).count();
  d->xs_registered_ = i.register_xenstore(r.name);
  EW_CHECK(i.open_console());
  d->times_.ready_s = std::chrono::duration<double>(Clock::now() - i.t0).count();
  if (xc_domain_unpause(i.xch, i.domid) != 0) return xen_error("xc_domain_unpause");
  return d;
}

bool Domain::poll(const std::function<void(const std::string&, const std::string&)>& line, int timeout_ms) {
  Impl& i = *impl_;
  if (i.destroyed) return false;
  // Look at the domain first and drain after: what it printed just before stopping is read.
  xc_domaininfo_t info{};
  const bool alive = xc_domain_getinfolist(i.xch, i.domid, 1, &info) == 1 && info.domain == i.domid &&
                     !(info.flags & (XEN_DOMINF_shutdown | XEN_DOMINF_dying));
  pollfd pfd{xenevtchn_fd(i.xce), POLLIN, 0};
  if (::poll(&pfd, 1, alive ? timeout_ms : 0) > 0) {
    const xenevtchn_port_or_error_t port = xenevtchn_pending(i.xce);
    if (port >= 0) xenevtchn_unmask(i.xce, port);
  }
  // PV console: consume everything between out_cons and out_prod, then tell the guest.
  XENCONS_RING_IDX cons = i.ring->out_cons, prod = i.ring->out_prod;
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  std::string chunk;
  while (cons != prod) chunk.push_back(i.ring->out[MASK_XENCONS_IDX(cons++, i.ring->out)]);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  i.ring->out_cons = cons;
  if (!chunk.empty()) {
    xenevtchn_notify(i.xce, static_cast<evtchn_port_t>(i.local_port));
    i.pv.feed(chunk.data(), chunk.size(), [&](const std::string& l) { line("console", l); });
  }
  // Xen's console ring: this domain's port-0xe9 lines, everything new since the last call.
  i.read_conring([&](const char* data, unsigned n) {
    i.dbg.feed(data, n, [&](const std::string& l) {
      if (l.find(i.dbg_tag) != std::string::npos) line("xen", l);
    });
  });
  return alive;
}

bool Domain::destroy() {
  Impl& i = *impl_;
  if (!i.created || i.destroyed) return true;
  i.destroyed = true;
  const bool ok = xc_domain_destroy(i.xch, i.domid) == 0;
  if (i.xsh) {
    xs_release_domain(i.xsh, i.domid);
    xs_rm(i.xsh, XBT_NULL, ("/local/domain/" + std::to_string(i.domid)).c_str());
  }
  return ok;
}

}  // namespace loader
