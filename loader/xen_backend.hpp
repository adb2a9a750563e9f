// Executes a Plan on real Xen with libxenctrl + libxenguest (the effect; the plan is pure).
// Creates an HVM-container domain (HAP, LAPIC-only emulation), sets max memory, the paging
// pool and the memory map, runs the xc_dom build sequence, sets the console and xenstore
// event channels, introduces the domain to xenstored when one runs, and unpauses it.
// The Domain destroys what it created when it goes out of scope.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "elfwrap/error.hpp"
#include "loader/plan.hpp"

namespace loader {

// One PT_LOAD of the image: `filesz` bytes from file offset `offset` at guest physical `paddr`,
// zero up to `memsz`.
struct LoadSegment {
  uint64_t paddr = 0, offset = 0, filesz = 0, memsz = 0;
};

struct BuildRequest {
  Plan plan;
  std::string name;
  std::string image_path;
  std::vector<std::string> module_paths;
  std::string cmdline;
  // For a plan with a hole window: the image's bytes and PT_LOADs, which pvhboot copies into
  // the window itself (libxc gets the entry stub).
  std::span<const std::byte> image;
  std::vector<LoadSegment> segments;
};

// The entry stub for an image in the MMIO hole: a PVH ELF32 of one page at kStubAddress whose
// code is "mov $entry, %eax; jmp *%eax" (32-bit flat protected mode, %ebx preserved).
std::vector<std::byte> entry_stub(uint32_t entry);

struct BuildTimes {
  // Since the build started: xc_domain_create done; memory populated and the image loaded
  // (the xc_dom sequence); xenstore registration and console set up (just before unpausing).
  double created_s = 0, built_s = 0, ready_s = 0;
};

class Domain {
 public:
  ~Domain();  // destroys the domain, whatever happened
  Domain(const Domain&) = delete;
  Domain& operator=(const Domain&) = delete;

  static elfwrap::Expected<std::unique_ptr<Domain>> build(const BuildRequest& req);

  uint32_t domid() const { return domid_; }
  const BuildTimes& times() const { return times_; }
  bool xenstore_registered() const { return xs_registered_; }

  // Drains the PV console ring (the firmware blocks when it is full) and reads this domain's
  // "(dN)" lines from Xen's console ring; calls `line` for each complete line. Returns false
  // when the domain no longer runs (shut down, crashed or gone).
  bool poll(const std::function<void(const std::string& source, const std::string& line)>& line, int timeout_ms);
  bool destroy();  // idempotent

 private:
  struct Impl;
  explicit Domain(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  uint32_t domid_ = ~0u;
  BuildTimes times_;
  bool xs_registered_ = false;
};

}  // namespace loader
