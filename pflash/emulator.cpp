#include "pflash/emulator.hpp"

#include <poll.h>
#include <sys/mman.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" {
#include <xenctrl.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xentoolcore.h>
}

namespace pflash {
namespace {

using elfwrap::hex;
using elfwrap::plain_error;

elfwrap::Error sys_error(const std::string& what) { return plain_error(what + " failed: " + std::strerror(errno)); }

constexpr uint64_t kPage = 0x1000;

}  // namespace

struct Emulator::Impl {
  uint32_t domid = 0;
  uint64_t base = 0;
  CfiFlash* flash = nullptr;
  Persistence store;
  xc_interface* xch = nullptr;
  xendevicemodel_handle* dmod = nullptr;
  xenforeignmemory_handle* fmem = nullptr;
  xenevtchn_handle* xce = nullptr;
  xenforeignmemory_resource_handle* res = nullptr;
  shared_iopage_t* iopage = nullptr;
  ioservid_t id = 0;
  bool server = false, mapped = false;
  std::vector<xenevtchn_port_or_error_t> ports;  // per vCPU, local

  ~Impl() {
    auto a = alive();
    if (server && a && *a) {
      if (mapped) xendevicemodel_unmap_io_range_from_ioreq_server(dmod, domid, id, 1, base, base + flash->contents().size() - 1);
      xendevicemodel_destroy_ioreq_server(dmod, domid, id);
    }
    if (res) xenforeignmemory_unmap_resource(fmem, res);
    if (xce) xenevtchn_close(xce);
    if (fmem) xenforeignmemory_close(fmem);
    if (dmod) xendevicemodel_close(dmod);
    if (xch) xc_interface_close(xch);
  }

  // Whether the domain is still there to serve. Once it is destroyed, Xen destroys its ioreq
  // servers (while our mappings keep the dying domain around): asking for ours then fails. That
  // is also a dm_op, the one kind of hypercall xentoolcore_restrict_all() leaves us. (A domain
  // that shut down but is not destroyed yet still gets its flash.)
  elfwrap::Expected<bool> alive() {
    if (xendevicemodel_get_ioreq_server_info(dmod, domid, id, nullptr, nullptr, nullptr) == 0) return true;
    if (errno == ENOENT || errno == ESRCH) return false;
    return sys_error("asking about domain " + std::to_string(domid) + "'s ioreq server");
  }

  elfwrap::Status open() {
    xch = xc_interface_open(nullptr, nullptr, 0);
    dmod = xendevicemodel_open(nullptr, 0);
    fmem = xenforeignmemory_open(nullptr, 0);
    xce = xenevtchn_open(nullptr, 0);
    if (!xch || !dmod || !fmem || !xce) return sys_error("opening the Xen interfaces (is this dom0, with xen-privcmd loaded?)");
    return elfwrap::ok();
  }

  elfwrap::Status claim() {
    xc_domaininfo_t info{};
    if (xc_domain_getinfolist(xch, domid, 1, &info) != 1 || info.domain != domid)
      return plain_error("domain " + std::to_string(domid) + " does not exist");
    if (xendevicemodel_create_ioreq_server(dmod, domid, HVM_IOREQSRV_BUFIOREQ_OFF, &id) != 0)
      return sys_error("creating an ioreq server for domain " + std::to_string(domid));
    server = true;
    void* addr = nullptr;
    res = xenforeignmemory_map_resource(fmem, domid, XENMEM_resource_ioreq_server, id, XENMEM_resource_ioreq_server_frame_ioreq(0), 1,
                                        &addr, PROT_READ | PROT_WRITE, 0);
    if (!res) return sys_error("mapping the ioreq page");
    iopage = static_cast<shared_iopage_t*>(addr);
    const uint64_t end = base + flash->contents().size() - 1;
    if (xendevicemodel_map_io_range_to_ioreq_server(dmod, domid, id, 1, base, end) != 0)
      return sys_error("claiming [" + hex(base) + ", " + hex(end + 1) + ")");
    mapped = true;
    if (xendevicemodel_set_ioreq_server_state(dmod, domid, id, 1) != 0) return sys_error("enabling the ioreq server");
    for (unsigned v = 0; v <= info.max_vcpu_id; ++v) {
      const xenevtchn_port_or_error_t p = xenevtchn_bind_interdomain(xce, domid, iopage->vcpu_ioreq[v].vp_eport);
      if (std::getenv("XEN_PFLASH_TRACE"))
        std::fprintf(stderr, "xen-pflash: vCPU %u: remote port %u, local %d\n", v, iopage->vcpu_ioreq[v].vp_eport, p);
      if (p < 0) return sys_error("binding the ioreq event channel of vCPU " + std::to_string(v));
      ports.push_back(p);
    }
    if (xentoolcore_restrict_all(domid) != 0) return sys_error("restricting the handles to domain " + std::to_string(domid));
    return elfwrap::ok();
  }

  // One access of the flash: a read returns its value; a write's change goes to the file before
  // it counts (durable at the next sync: see handle()).
  elfwrap::Status access(ioreq_t& r, uint64_t addr, uint64_t& value) {
    const uint64_t off = addr - base;  // wraps for addresses below base: then out of the flash
    if (r.dir == IOREQ_READ) {
      value = flash->read(off, r.size);
      return elfwrap::ok();
    }
    if (auto c = flash->write(off, r.size, value)) return store.write(*c);
    return elfwrap::ok();
  }

  // A `rep movs` to or from guest RAM: data is the guest-physical address of the other side.
  elfwrap::Status rep(ioreq_t& r, ServeStats& st) {
    const uint64_t n = r.count, size = r.size;
    if (n == 0 || n > kPage / size)
      return plain_error("ioreq with " + std::to_string(n) + " repeats of " + std::to_string(size) + " bytes");
    // The guest RAM side spans at most two pages (n * size <= a page): each is mapped once for the
    // whole request, not once per element (a boot's rep requests carry thousands of elements).
    xen_pfn_t mapped = ~xen_pfn_t{0};
    uint8_t* page = nullptr;
    auto unmap = [&] {
      if (page) xenforeignmemory_unmap(fmem, page, 1);
      page = nullptr;
    };
    elfwrap::Status status = elfwrap::ok();
    for (uint64_t i = 0; i < n && status; ++i) {
      const uint64_t step = i * size;
      const uint64_t mmio = r.df ? r.addr - step : r.addr + step, ram = r.df ? r.data - step : r.data + step;
      xen_pfn_t pfn = ram / kPage;
      if ((ram % kPage) + size > kPage) {
        status = plain_error("rep access across a page of guest RAM at " + hex(ram));
        break;
      }
      if (pfn != mapped) {
        unmap();
        page = static_cast<uint8_t*>(xenforeignmemory_map(fmem, domid, PROT_READ | PROT_WRITE, 1, &pfn, nullptr));
        if (!page) {
          status = sys_error("mapping guest RAM at " + hex(ram));
          break;
        }
        mapped = pfn;
      }
      uint64_t v = 0;
      if (r.dir == IOREQ_WRITE) std::memcpy(&v, page + ram % kPage, size);
      status = access(r, mmio, v);
      if (status && r.dir == IOREQ_READ) std::memcpy(page + ram % kPage, &v, size);
      if (status) ++st.rep_accesses;
    }
    unmap();
    return status;
  }

  elfwrap::Status handle(ioreq_t& r, ServeStats& st) {
    if (r.type == IOREQ_TYPE_COPY && (r.size == 1 || r.size == 2 || r.size == 4 || r.size == 8)) {
      if (r.data_is_ptr) {
        EW_CHECK(rep(r, st));
      } else {
        uint64_t v = r.data;
        EW_CHECK(access(r, r.addr, v));
        if (r.dir == IOREQ_READ) r.data = v;
      }
    } else if (r.dir == IOREQ_READ && !r.data_is_ptr) {
      r.data = ~uint64_t{0};  // anything else (port I/O cannot reach us): all ones
    }
    // Before the guest sees this request complete: is what it programmed durable?
    if (sync_before_completing(r.dir == IOREQ_READ, *flash)) EW_CHECK(store.sync());
    ++st.ioreqs;
    return elfwrap::ok();
  }
};

Emulator::Emulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Emulator::~Emulator() = default;

unsigned Emulator::vcpus() const { return static_cast<unsigned>(impl_->ports.size()); }

elfwrap::Expected<std::unique_ptr<Emulator>> Emulator::attach(uint32_t domid, uint64_t base, CfiFlash& flash, Persistence store) {
  auto impl = std::make_unique<Impl>();
  impl->domid = domid;
  impl->base = base;
  impl->flash = &flash;
  impl->store = std::move(store);
  EW_CHECK(impl->open());
  EW_CHECK(impl->claim());
  return std::unique_ptr<Emulator>(new Emulator(std::move(impl)));
}

elfwrap::Status Emulator::serve(const std::function<bool()>& stop) {
  Impl& i = *impl_;
  // Answers vCPU v's request if one is waiting; false when there was none.
  auto answer = [&](size_t v) -> elfwrap::Expected<bool> {
    ioreq_t& r = i.iopage->vcpu_ioreq[v];
    if (std::getenv("XEN_PFLASH_TRACE")) {
      std::fprintf(stderr, "xen-pflash: vCPU %zu state %u type %u dir %u addr %#llx size %u count %u ptr %u eport %u:", v, r.state, r.type,
                   r.dir, static_cast<unsigned long long>(r.addr), r.size, r.count, r.data_is_ptr, r.vp_eport);
      for (int k = 0; k < 32; ++k) std::fprintf(stderr, " %02x", reinterpret_cast<const uint8_t*>(&r)[k]);
      std::fprintf(stderr, "\n");
    }
    if (r.state != STATE_IOREQ_READY) return false;  // a bit-field: fences, not atomics
    const auto t0 = std::chrono::steady_clock::now();
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    r.state = STATE_IOREQ_INPROCESS;
    EW_CHECK(i.handle(r, stats_));
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r.state = STATE_IORESP_READY;
    xenevtchn_notify(i.xce, static_cast<evtchn_port_t>(i.ports[v]));
    stats_.busy_ns +=
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    return true;
  };
  while (!stop()) {
    pollfd pfd{xenevtchn_fd(i.xce), POLLIN, 0};
    const int n = ::poll(&pfd, 1, 200);
    if (n < 0 && errno != EINTR) return sys_error("poll");
    if (n <= 0) {
      // A guest that stopped in the middle of a program sequence: its bytes go to disk anyway.
      EW_CHECK(i.store.sync());
      EW_TRY(const bool alive, i.alive());
      if (!alive) return elfwrap::ok();
      // 200 ms without an event: a request still waiting would hang its vCPU for good if its
      // event was lost; answer it (and count it: the exit line shows whether this ever happens).
      for (size_t v = 0; v < i.ports.size(); ++v) {
        EW_TRY(const bool answered, answer(v));
        if (answered) ++stats_.unsignalled;
      }
      continue;
    }
    const xenevtchn_port_or_error_t port = xenevtchn_pending(i.xce);
    if (port < 0) continue;
    xenevtchn_unmask(i.xce, static_cast<evtchn_port_t>(port));
    for (size_t v = 0; v < i.ports.size(); ++v) {
      if (i.ports[v] != port) continue;
      EW_TRY(const bool answered, answer(v));
      (void)answered;
    }
  }
  return i.store.sync();
}

}  // namespace pflash
