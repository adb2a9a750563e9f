// The Xen side of xen-pflash: an ioreq server that claims the flash's guest-physical range
// [base, base + size) of one domain and serves every access there with a CfiFlash. Thin glue:
// the device is the pure state machine in cfi.hpp; this file only moves accesses in and out.
//
// Set-up (libxendevicemodel, as XenServer's varstored does for its I/O port): create an ioreq
// server without buffered requests, map its ioreq page through xenforeignmemory_map_resource
// (no page of the guest's is taken), claim the range as MMIO, enable the server, bind one event
// channel per vCPU, then restrict every handle of the process to the domain
// (xentoolcore_restrict_all): from then on a bug here cannot touch another domain.
//
// Trust boundary. The ioreq slots are written by Xen, but what they describe comes from the
// guest: the address (checked to be inside the flash, else reads give all ones and writes are
// dropped), the size (1/2/4/8 only), the repeat count and direction of a `rep movs`, and for such
// a request a guest-physical address of the guest's own RAM to copy to or from. That RAM is
// mapped page by page for the copy, and at most one page of accesses is served per request.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "elfwrap/error.hpp"
#include "pflash/cfi.hpp"

namespace pflash {

struct ServeStats {
  uint64_t ioreqs = 0;        // requests answered
  uint64_t rep_accesses = 0;  // accesses inside `rep` requests
  uint64_t unsignalled = 0;   // requests found waiting by the idle scan, their event not seen
  uint64_t busy_ns = 0;       // time spent answering requests (taking one up to its event)
};

// Where the flash's changes go. `write` is called for every change before the guest's access
// completes; `sync` makes the writes so far durable, and is called before completing any request
// that sync_before_completing() names, when the guest is idle, and before serve() returns. An
// error from either stops the emulator (the guest's access then never completes, which is better
// than completing one that was not saved).
struct Persistence {
  std::function<elfwrap::Status(const Change&)> write;
  std::function<elfwrap::Status()> sync;
};

class Emulator {
 public:
  // Claims [base, base + flash size) of `domid`.
  static elfwrap::Expected<std::unique_ptr<Emulator>> attach(uint32_t domid, uint64_t base, CfiFlash& flash, Persistence store);
  ~Emulator();  // releases the range and the ioreq server (when the domain still exists)

  // Serves accesses until the domain is gone (returns ok) or `stop()` says so, or a failure.
  elfwrap::Status serve(const std::function<bool()>& stop);
  const ServeStats& stats() const { return stats_; }
  unsigned vcpus() const;

 private:
  struct Impl;
  explicit Emulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  ServeStats stats_;
};

}  // namespace pflash
