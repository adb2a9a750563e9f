// xen-pflash: persistent UEFI variables for an OVMF guest on Xen. Emulates the CFI flash that
// OVMF's QemuFlash driver looks for at the firmware's FD base, for one domain, backed by a VARS
// file: every program or erase is written to the file as it comes, and synced before the guest can
// see it completed (pflash/cfi.hpp: sync_before_completing). Thin driver: options, the pflash
// library, exit codes.
//   xen-pflash --domid N --vars FILE (--firmware IMG | --base ADDR) [--ready-fd FD]
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iomanip>
#include <iostream>

#include "elfwrap/file_io.hpp"
#include "elfwrap/image.hpp"
#include "pflash/emulator.hpp"
#include "pflash/store.hpp"
#include "tools/common/numbers.hpp"

extern "C" {
#include <xenstore.h>
}

namespace {

constexpr int kOk = 0, kFail = 1, kUsage = 2;
volatile std::sig_atomic_t g_stop = 0;

int fail(const elfwrap::Error& e) {
  std::cerr << "xen-pflash: error: " << elfwrap::to_string(e) << "\n";
  return kFail;
}

struct Args {
  std::string domid, vars, firmware, base, xenstore_ready;
  int ready_fd = -1;
  double lock_wait = 5;
};

elfwrap::Expected<elfwrap::Image> parse(const std::string& path, std::span<const std::byte> bytes) {
  auto img = elfwrap::parse_image(bytes);
  if (!img) return elfwrap::with_file(img.take_error(), path);
  return img;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int run(const Args& a) {
  const auto started = std::chrono::steady_clock::now();
  auto file = pflash::VarsFile::open(a.vars, a.lock_wait);
  if (!file) return fail(file.error());
  const auto& bytes = file->bytes();
  auto vars = parse(a.vars, std::as_bytes(std::span(bytes)));
  if (!vars) return fail(vars.error());
  std::optional<elfwrap::Image> fw;
  if (!a.firmware.empty()) {
    auto fwfile = elfwrap::MappedFile::open(a.firmware);
    if (!fwfile) return fail(fwfile.error());
    auto img = parse(a.firmware, fwfile->bytes());
    if (!img) return fail(img.error());
    fw = std::move(*img);
  }
  const auto base = a.base.empty() ? std::nullopt : tools::parse_number(a.base);
  auto plan = pflash::plan_store(*vars, fw ? &*fw : nullptr, base);
  if (!plan) return fail(elfwrap::with_file(plan.take_error(), a.vars));
  pflash::CfiFlash flash(bytes, 0x1000);
  const uint32_t domid = static_cast<uint32_t>(*tools::parse_number(a.domid));
  auto emu = pflash::Emulator::attach(
      domid, plan->base, flash, {[&](const pflash::Change& c) { return file->write(c, flash.contents()); }, [&] { return file->sync(); }});
  if (!emu) return fail(emu.error());
  std::cerr << "xen-pflash: domain " << domid << ": flash at " << elfwrap::hex(plan->base) << "-" << elfwrap::hex(plan->base + plan->size)
            << " (" << (*emu)->vcpus() << " vCPU(s)) from '" << a.vars << "'";
  for (const auto& f : plan->facts) std::cerr << "; " << f;
  std::cerr << "; serving " << std::fixed << std::setprecision(1) << ms_since(started) << " ms after start" << std::endl;
  if (a.ready_fd >= 0) {
    (void)!::write(a.ready_fd, "ready\n", 6);
    ::close(a.ready_fd);
  }
  if (!a.xenstore_ready.empty()) {  // libxl's spawn waits for this, as for a device model
    struct xs_handle* xs = xs_open(0);
    const bool ok = xs && xs_write(xs, XBT_NULL, a.xenstore_ready.c_str(), "running", 7);
    if (xs) xs_close(xs);
    if (!ok) return fail(elfwrap::plain_error("cannot write \"running\" to xenstore at " + a.xenstore_ready));
  }
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) std::signal(sig, [](int) { g_stop = 1; });
  auto st = (*emu)->serve([] { return g_stop != 0; });
  const auto& s = flash.stats();
  const auto& e = (*emu)->stats();
  std::cerr << "xen-pflash: domain " << domid << (g_stop ? ": stopped by a signal" : ": gone") << "; served " << e.ioreqs << " requests ("
            << s.reads << " reads, " << s.writes << " writes, " << e.rep_accesses << " in rep requests); " << s.programs << " programs and "
            << s.erases << " erases saved, " << file->syncs() << " syncs; " << std::fixed << std::setprecision(1) << e.busy_ns / 1e6
            << " ms answering them, " << file->sync_ms() << " ms of it in syncs";
  if (e.unsignalled) std::cerr << "; " << e.unsignalled << " request(s) answered without their event (found by the idle scan)";
  std::cerr << std::endl;
  if (!st) return fail(st.error());
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xen-pflash: a persistent UEFI variable store (CFI flash) for an OVMF guest on Xen, backed by a VARS file"};
  app.footer(
      "Examples:\n  elfwrap vars blank --layout 0x20000 -o guest.vars\n"
      "  xen-pflash --domid 7 --vars guest.vars --firmware /usr/lib/xen-4.17/boot/ovmf-pvh.elf\n"
      "Start it before the domain is unpaused (pvhboot run --vars and xl's nvram= do). It exits when the domain\n"
      "is gone, or on SIGTERM, SIGINT or SIGHUP. Exit status: 0 domain gone or stopped; 1 failure; 2 usage.");
  app.set_version_flag("--version", "xen-pflash 0.2.0");
  Args a;
  app.add_option("--domid", a.domid, "the domain")->required()->check(tools::number_validator());
  app.add_option("--vars", a.vars, "the VARS file (elfwrap vars blank / vars extract)")->required();
  auto* fw = app.add_option("--firmware", a.firmware, "the firmware image: the flash goes at its FD base, and the store must fit it");
  auto* base = app.add_option("--base", a.base, "the flash's guest-physical address instead (4 GiB - firmware size)")
                   ->check(tools::number_validator());
  fw->excludes(base);
  app.add_option("--ready-fd", a.ready_fd, "write \"ready\" to this file descriptor once the flash is served");
  app.add_option("--xenstore-ready", a.xenstore_ready, "write \"running\" to this xenstore path once the flash is served (libxl)");
  app.add_option("--lock-wait", a.lock_wait, "seconds to wait for the VARS file's lock (default 5)")->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "xen-pflash: error: " << e.what() << "\n";
    return kUsage;
  }
  if (a.firmware.empty() && a.base.empty()) {
    std::cerr << "xen-pflash: error: give --firmware IMG or --base ADDR\n";
    return kUsage;
  }
  return run(a);
}
