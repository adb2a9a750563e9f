// Executes a BootPlan on real Xen with libxenctrl + libxenguest (the effect; the plan is pure).
// Creates an HVM-container domain (HAP, LAPIC-only emulation), records who owns it, sets max
// memory, the paging pool and the memory map, hands libxc the plan's kernel and module bytes
// (xc_dom_kernel_mem / xc_dom_module_mem: what was planned is what is loaded), fills the hole
// window, sets the console and xenstore event channels, introduces the domain to xenstored when
// one runs, and unpauses it. The Domain destroys what it created when it goes out of scope.
//
// Trust boundary. The guest controls, and pvhboot treats as untrusted input:
//   - its console page (struct xencons_interface): the ring contents and both indices. poll()
//     reads only out_prod - out_cons <= sizeof(out) bytes and reports a ring that claims more as
//     broken (what xenconsoled's buffer_append does), never allocating or looping on its word;
//   - its lines on Xen's console ring ("(dN) ..." from port 0xe9): text, matched, never run;
//   - everything under /local/domain/N in xenstore: pvhboot creates those nodes and later
//     removes them, and reads none of them back.
// pvhboot itself runs as root in dom0 with every privcmd handle; it maps only the console page
// of its own domain (and the hole window before the guest runs).
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "elfwrap/error.hpp"
#include "loader/boot_plan.hpp"

namespace loader {

struct BuildOptions {
  std::string name;
  // Where the owner record goes (owner.hpp); empty: none (tests).
  std::string owner_dir;
  // Run once the domain is built, before it is unpaused (e.g. start its device emulators); an
  // error stops the build and the domain is destroyed.
  std::function<elfwrap::Status(uint32_t domid)> before_unpause;
};

struct BuildTimes {
  // Since the build started: xc_domain_create done; memory populated and the image loaded
  // (the xc_dom sequence); xenstore registration and console set up (just before unpausing).
  double created_s = 0, built_s = 0, ready_s = 0;
};

struct PollResult {
  bool alive = true;         // false once the domain shut down, crashed or is gone
  std::string how;           // when not alive: "shut down (poweroff)", "crashed", ...
  std::string broken_ring;   // set when the guest's console ring indices are impossible
  std::string partial_line;  // what the PV console printed after its last newline (a prompt)
};

class Domain {
 public:
  ~Domain();  // destroys the domain, whatever happened
  Domain(const Domain&) = delete;
  Domain& operator=(const Domain&) = delete;

  static elfwrap::Expected<std::unique_ptr<Domain>> build(const BootPlan& plan, const BuildOptions& opts);

  uint32_t domid() const;
  const BuildTimes& times() const { return times_; }
  bool xenstore_registered() const { return xs_registered_; }

  // Drains the PV console ring (the firmware blocks when it is full) and reads this domain's
  // "(dN)" lines from Xen's console ring; calls `line` for each complete line.
  PollResult poll(const std::function<void(const std::string& source, const std::string& line)>& line, int timeout_ms);
  // Types `text` on the guest's PV console (its input ring); returns how many bytes fitted.
  size_t type(std::string_view text);
  bool destroy();  // idempotent

 private:
  struct Impl;
  explicit Domain(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  BuildTimes times_;
  bool xs_registered_ = false;
};

// Destroys domain `domid` if it still has the handle `handle` (a domain id may have been reused),
// and removes its xenstore nodes. For `pvhboot reap`. Returns whether it destroyed one.
elfwrap::Expected<bool> destroy_if_handle(uint32_t domid, const std::array<uint8_t, 16>& handle);

}  // namespace loader
