#include "loader/xen_backend.hpp"

#include <poll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "loader/owner.hpp"

extern "C" {
#include <xen/io/console.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenguest.h>
#include <xenstore.h>
#include <xentoollog.h>
}

namespace loader {
namespace {

using Clock = std::chrono::steady_clock;
using elfwrap::hex;
using elfwrap::plain_error;

// libxc's and libxenguest's log, kept in memory: an error says what they said last, and
// nothing of theirs goes to our stderr on its own.
struct XcLog {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = nullptr;
  xentoollog_logger_stdiostream* lg = nullptr;
  XcLog() {
    f = open_memstream(&buf, &len);
    if (f) lg = xtl_createlogger_stdiostream(f, XTL_DETAIL, 0);
  }
  ~XcLog() {
    if (lg) xtl_logger_destroy(reinterpret_cast<xentoollog_logger*>(lg));
    if (f) std::fclose(f);
    std::free(buf);
  }
  xentoollog_logger* logger() { return reinterpret_cast<xentoollog_logger*>(lg); }
  // The last `n` lines, on one line.
  std::string tail(size_t n = 3) {
    if (!f) return {};
    std::fflush(f);
    std::string s(buf ? buf : "", len);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    size_t cut = s.size();
    for (size_t k = 0; k < n && cut != std::string::npos && cut > 0; ++k) cut = s.rfind('\n', cut - 1);
    s = cut == std::string::npos ? s : s.substr(cut + 1);
    for (auto& c : s)
      if (c == '\n') c = ' ';
    return s;
  }
};

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

std::array<uint8_t, 16> random_handle() {
  std::array<uint8_t, 16> h{};
  if (::getrandom(h.data(), h.size(), 0) != static_cast<ssize_t>(h.size()))
    for (auto& b : h) b = static_cast<uint8_t>(std::rand());
  h[6] = static_cast<uint8_t>((h[6] & 0x0f) | 0x40);  // a version-4 UUID, as libxl makes them
  h[8] = static_cast<uint8_t>((h[8] & 0x3f) | 0x80);
  return h;
}

std::string shutdown_how(const xc_domaininfo_t& info) {
  if (info.flags & XEN_DOMINF_dying) return "is dying";
  switch ((info.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask) {
    case SHUTDOWN_poweroff:
      return "powered off";
    case SHUTDOWN_reboot:
      return "rebooted";
    case SHUTDOWN_crash:
      return "crashed";
    case SHUTDOWN_suspend:
      return "suspended";
    case SHUTDOWN_watchdog:
      return "was stopped by its watchdog";
    default:
      return "shut down";
  }
}

}  // namespace

struct Domain::Impl {
  XcLog log;
  xc_interface* xch = nullptr;
  xenforeignmemory_handle* fmem = nullptr;
  xenevtchn_handle* xce = nullptr;
  struct xs_handle* xsh = nullptr;
  uint32_t domid = ~0u;
  std::array<uint8_t, 16> handle = random_handle();
  bool created = false, destroyed = false;
  std::optional<OwnerRecord> owner;
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

  // An error with errno's text and what libxc logged last.
  elfwrap::Error fail(const std::string& what) {
    std::string m = what + " failed: " + std::strerror(errno);
    const std::string said = log.tail();
    if (!said.empty()) m += " (libxc: " + said + ")";
    return plain_error(m);
  }

  elfwrap::Status open() {
    xch = xc_interface_open(log.logger(), log.logger(), 0);
    if (!xch) return fail("xc_interface_open (is this dom0, with xen-privcmd loaded?)");
    fmem = xenforeignmemory_open(log.logger(), 0);
    xce = xenevtchn_open(log.logger(), 0);
    if (!fmem || !xce) return fail("opening foreign memory / event channels");
    xsh = xs_open(XS_OPEN_SOCKETONLY);  // optional: no xenstored, no XenBus for the guest
    return elfwrap::ok();
  }

  elfwrap::Status create(const BootPlan& p, const BuildOptions& o) {
    xen_domctl_createdomain cfg{};
    cfg.flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap;
    cfg.max_vcpus = p.vcpus;
    cfg.max_evtchn_port = 1023;
    cfg.max_grant_frames = 64;
    cfg.max_maptrack_frames = 1024;
    cfg.grant_opts = XEN_DOMCTL_GRANT_version(1);
    cfg.arch.emulation_flags = XEN_X86_EMU_LAPIC;
    std::memcpy(cfg.handle, handle.data(), handle.size());
    if (xc_domain_create(xch, &domid, &cfg) != 0) return fail("xc_domain_create");
    created = true;
    if (!o.owner_dir.empty()) {  // first, so that even a SIGKILL from here on leaves a trace
      auto rec = OwnerRecord::create(o.owner_dir, {domid, handle, o.name, static_cast<long>(::getpid())});
      if (!rec) return rec.take_error();
      owner.emplace(std::move(*rec));
    }
    // The vCPUs themselves (libxl does the same). Without them Xen 4.17 dereferences a NULL
    // vcpu in vpic_save() when libxc reads the HVM context, and panics.
    if (xc_domain_max_vcpus(xch, domid, p.vcpus) != 0) return fail("xc_domain_max_vcpus");
    if (xc_domain_setmaxmem(xch, domid, p.maxmem_kib) != 0) return fail("xc_domain_setmaxmem");
    if (xc_set_paging_mempool_size(xch, domid, p.paging_pool_bytes) != 0) return fail("xc_set_paging_mempool_size");
    std::vector<e820entry> map;
    for (const auto& e : p.e820) map.push_back({e.addr, e.size, e.type});
    if (xc_domain_set_memory_map(xch, domid, map.data(), static_cast<uint32_t>(map.size())) != 0) return fail("xc_domain_set_memory_map");
    const int cp = xc_evtchn_alloc_unbound(xch, domid, 0), sp = xc_evtchn_alloc_unbound(xch, domid, 0);
    if (cp < 0 || sp < 0) return fail("xc_evtchn_alloc_unbound");
    console_port = static_cast<unsigned>(cp);
    store_port = static_cast<unsigned>(sp);
    return elfwrap::ok();
  }

  // The xc_dom sequence, handed the plan's bytes (libxc keeps pointers to them until released).
  elfwrap::Status build_image(const BootPlan& p) {
    xc_dom_image* dom = xc_dom_allocate(xch, p.cmdline.empty() ? nullptr : p.cmdline.c_str(), nullptr);
    if (!dom) return fail("xc_dom_allocate");
    struct Release {
      xc_dom_image* d;
      ~Release() { xc_dom_release(d); }
    } release{dom};
    dom->container_type = xc_dom_image::XC_DOM_HVM_CONTAINER;
    const auto kernel = p.kernel();
    if (xc_dom_kernel_mem(dom, kernel.data(), kernel.size()) != 0) return fail("xc_dom_kernel_mem");
    for (const auto& m : p.modules)
      if (xc_dom_module_mem(dom, m.bytes.data(), m.bytes.size(), nullptr) != 0) return fail("xc_dom_module_mem " + m.name);
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
    // The ACPI tables: libxenguest populates their pages and copies them in (xc_dom_load_acpi);
    // module 0 is the RSDP, whose address becomes start_info's rsdp_paddr.
    if (p.acpi.modules.size() > MAX_ACPI_MODULES) return plain_error("internal: more ACPI modules than libxenguest takes");
    for (size_t k = 0; k < p.acpi.modules.size(); ++k) {
      const auto& m = p.acpi.modules[k];
      dom->acpi_modules[k].data = reinterpret_cast<uint8_t*>(const_cast<std::byte*>(m.bytes.data()));
      dom->acpi_modules[k].length = static_cast<uint32_t>(m.bytes.size());
      dom->acpi_modules[k].guest_addr_out = m.address;
    }
    dom->console_evtchn = console_port;
    dom->xenstore_evtchn = store_port;
    dom->console_domid = 0;
    dom->xenstore_domid = 0;
    if (xc_dom_boot_xen_init(dom, xch, domid) != 0) return fail("xc_dom_boot_xen_init");
    if (xc_dom_parse_image(dom) != 0) return fail("xc_dom_parse_image");
    if (xc_dom_mem_init(dom, static_cast<unsigned>(p.memory_bytes >> 20)) != 0) return fail("xc_dom_mem_init");
    if (xc_dom_boot_mem_init(dom) != 0) return fail("xc_dom_boot_mem_init");
    if (xc_dom_build_image(dom) != 0) return fail("xc_dom_build_image");
    if (xc_dom_boot_image(dom) != 0) return fail("xc_dom_boot_image");
    if (xc_dom_gnttab_init(dom) != 0) return fail("xc_dom_gnttab_init");
    if (p.hole_window) EW_CHECK(fill_hole_window(p));
    console_pfn = dom->console_pfn;
    store_pfn = dom->xenstore_pfn;
    xc_hvm_param_set(xch, domid, HVM_PARAM_CONSOLE_EVTCHN, console_port);
    xc_hvm_param_set(xch, domid, HVM_PARAM_STORE_EVTCHN, store_port);
    return elfwrap::ok();
  }

  // Populates the hole window (RAM where libxl leaves none) and copies the plan's bytes in.
  elfwrap::Status fill_hole_window(const BootPlan& p) {
    const Placement& w = *p.hole_window;
    const size_t n = (w.end - w.start) / kPage;
    std::vector<xen_pfn_t> pfns(n);
    for (size_t k = 0; k < n; ++k) pfns[k] = (w.start / kPage) + k;
    if (xc_domain_populate_physmap_exact(xch, domid, n, 0, 0, pfns.data()) != 0)
      return fail("populating the MMIO hole window [" + hex(w.start) + ", " + hex(w.end) + ")");
    std::vector<int> errs(n);
    auto* mem = static_cast<std::byte*>(xenforeignmemory_map(fmem, domid, PROT_READ | PROT_WRITE, n, pfns.data(), errs.data()));
    if (!mem) return fail("mapping the MMIO hole window");
    struct Unmap {
      xenforeignmemory_handle* h;
      void* p;
      size_t n;
      ~Unmap() { xenforeignmemory_unmap(h, p, n); }
    } unmap{fmem, mem, n};
    for (size_t k = 0; k < n; ++k)
      if (errs[k]) {
        errno = -errs[k];
        return fail("mapping guest page " + hex(pfns[k] * kPage));
      }
    std::memset(mem, 0, n * kPage);
    for (const auto& c : p.window_copies) {
      if (c.paddr < w.start || c.bytes.size() > w.end - c.paddr)  // the plan made the window from these: a guard only
        return plain_error("internal: window copy at " + hex(c.paddr) + " is outside the window");
      std::memcpy(mem + (c.paddr - w.start), c.bytes.data(), c.bytes.size());
    }
    return elfwrap::ok();
  }

  // What OvmfXen's XenBus needs: the domain known to xenstored, with its home directory.
  bool register_xenstore(const std::string& name, const BootPlan& p) {
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
    // What libxl writes too: every vCPU online (a guest's CPU hotplug watches these), and the
    // memory target in KiB (the balloon driver's).
    auto write = [&](const std::string& path, const std::string& value) {
      return xs_write(xsh, XBT_NULL, (home + path).c_str(), value.data(), value.size());
    };
    for (unsigned v = 0; v < p.vcpus; ++v) write("/cpu/" + std::to_string(v) + "/availability", "online");
    write("/memory/static-max", std::to_string(p.memory_bytes >> 10));
    write("/memory/target", std::to_string(p.memory_bytes >> 10));
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
    ring = static_cast<xencons_interface*>(xenforeignmemory_map(fmem, domid, PROT_READ | PROT_WRITE, 1, &console_pfn, nullptr));
    if (!ring) return fail("mapping the console page " + hex(console_pfn));
    local_port = xenevtchn_bind_interdomain(xce, domid, console_port);
    if (local_port < 0) return fail("binding the console event channel");
    dbg_tag = "(d" + std::to_string(domid) + ")";
    read_conring([](const char*, unsigned) {});  // skip what Xen logged before this domain ran
    return elfwrap::ok();
  }

  // The guest's PV console: what lies between out_cons and out_prod, when the guest's indices
  // are possible (xenconsoled's rule: prod - cons <= sizeof out); the bytes read go to `chunk`.
  std::string drain_console(std::string& chunk) {
    const XENCONS_RING_IDX cons = ring->out_cons, prod = ring->out_prod;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    const XENCONS_RING_IDX n = prod - cons;
    if (n > sizeof ring->out)
      return "the guest's console ring is broken: out_prod " + hex(prod) + " - out_cons " + hex(cons) + " = " + hex(n) +
             " is more than the ring holds (" + hex(sizeof ring->out) + " bytes)";
    for (XENCONS_RING_IDX i = 0; i < n; ++i) chunk.push_back(ring->out[MASK_XENCONS_IDX(cons + i, ring->out)]);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    ring->out_cons = prod;
    return {};
  }
};

Domain::Domain(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Domain::~Domain() { destroy(); }

uint32_t Domain::domid() const { return impl_->domid; }

elfwrap::Expected<std::unique_ptr<Domain>> Domain::build(const BootPlan& plan, const BuildOptions& opts) {
  std::unique_ptr<Domain> d(new Domain(std::make_unique<Impl>()));
  Impl& i = *d->impl_;
  EW_CHECK(i.open());
  EW_CHECK(i.create(plan, opts));  // on error, ~Domain destroys what exists
  d->times_.created_s = std::chrono::duration<double>(Clock::now() - i.t0).count();
  EW_CHECK(i.build_image(plan));
  d->times_.built_s = std::chrono::duration<double>(Clock::now() - i.t0).count();
  d->xs_registered_ = i.register_xenstore(opts.name, plan);
  EW_CHECK(i.open_console());
  if (opts.before_unpause) EW_CHECK(opts.before_unpause(i.domid));
  d->times_.ready_s = std::chrono::duration<double>(Clock::now() - i.t0).count();
  if (xc_domain_unpause(i.xch, i.domid) != 0) return i.fail("xc_domain_unpause");
  return d;
}

PollResult Domain::poll(const std::function<void(const std::string&, const std::string&)>& line, int timeout_ms) {
  Impl& i = *impl_;
  PollResult r;
  if (i.destroyed) return {false, "was destroyed", {}};
  // Look at the domain first and drain after: what it printed just before stopping is read.
  xc_domaininfo_t info{};
  const bool found = xc_domain_getinfolist(i.xch, i.domid, 1, &info) == 1 && info.domain == i.domid;
  r.alive = found && !(info.flags & (XEN_DOMINF_shutdown | XEN_DOMINF_dying));
  if (!r.alive) r.how = found ? shutdown_how(info) : "vanished";
  pollfd pfd{xenevtchn_fd(i.xce), POLLIN, 0};
  if (::poll(&pfd, 1, r.alive ? timeout_ms : 0) > 0) {
    const xenevtchn_port_or_error_t port = xenevtchn_pending(i.xce);
    if (port >= 0) xenevtchn_unmask(i.xce, port);
  }
  std::string chunk;
  r.broken_ring = i.drain_console(chunk);
  if (!chunk.empty()) {
    xenevtchn_notify(i.xce, static_cast<evtchn_port_t>(i.local_port));
    i.pv.feed(chunk.data(), chunk.size(), [&](const std::string& l) { line("console", l); });
  }
  r.partial_line = i.pv.partial;
  // Xen's console ring: this domain's port-0xe9 lines, everything new since the last call.
  i.read_conring([&](const char* data, unsigned n) {
    i.dbg.feed(data, n, [&](const std::string& l) {
      if (l.find(i.dbg_tag) != std::string::npos) line("xen", l);
    });
  });
  return r;
}

size_t Domain::type(std::string_view text) {
  Impl& i = *impl_;
  if (i.destroyed || !i.ring) return 0;
  const XENCONS_RING_IDX cons = i.ring->in_cons;
  XENCONS_RING_IDX prod = i.ring->in_prod;
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  if (prod - cons > sizeof i.ring->in) return 0;  // the guest's index is impossible: type nothing
  size_t n = 0;
  while (n < text.size() && prod - cons < sizeof i.ring->in) i.ring->in[MASK_XENCONS_IDX(prod++, i.ring->in)] = text[n++];
  __atomic_thread_fence(__ATOMIC_RELEASE);
  i.ring->in_prod = prod;
  xenevtchn_notify(i.xce, static_cast<evtchn_port_t>(i.local_port));
  return n;
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
  if (ok) i.owner.reset();  // the record goes with the domain (kept if it could not be destroyed)
  return ok;
}

elfwrap::Expected<bool> destroy_if_handle(uint32_t domid, const std::array<uint8_t, 16>& handle) {
  XcLog log;
  xc_interface* xch = xc_interface_open(log.logger(), log.logger(), 0);
  if (!xch) return plain_error(std::string("xc_interface_open failed: ") + std::strerror(errno));
  struct Close {
    xc_interface* x;
    ~Close() { xc_interface_close(x); }
  } close{xch};
  xc_domaininfo_t info{};
  if (xc_domain_getinfolist(xch, domid, 1, &info) != 1 || info.domain != domid ||
      std::memcmp(info.handle, handle.data(), handle.size()) != 0)
    return false;  // gone, or the id now belongs to another domain
  if (xc_domain_destroy(xch, domid) != 0)
    return plain_error("xc_domain_destroy(" + std::to_string(domid) + ") failed: " + std::strerror(errno));
  if (struct xs_handle* xsh = xs_open(XS_OPEN_SOCKETONLY)) {
    xs_release_domain(xsh, domid);
    xs_rm(xsh, XBT_NULL, ("/local/domain/" + std::to_string(domid)).c_str());
    xs_close(xsh);
  }
  return true;
}

}  // namespace loader
