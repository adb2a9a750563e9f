// pvhboot: boot a PVH kernel (e.g. an elfwrap-wrapped OvmfXen) without xl, watch its console,
// judge it, and always destroy the domain. The engine of boot smoke jobs.
//   pvhboot plan IMAGE --memory MIB [--json]         (no hypervisor: libxenguest's dummy parse)
//   pvhboot run IMAGE --memory MIB [--expect RE]...  (dom0 of a real Xen)
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <span>
#include <sstream>
#include <utility>

#include "elfwrap/elf_consts.hpp"
#include "elfwrap/file_io.hpp"
#include "elfwrap/image.hpp"
#include "loader/plan.hpp"
#include "loader/xen_backend.hpp"
#include "loader/xen_parse.hpp"

namespace {

using elfwrap::hex;
constexpr int kOk = 0, kFail = 1, kUsage = 2;
volatile std::sig_atomic_t g_signal = 0;
const auto g_start = std::chrono::steady_clock::now();  // process start, for the timings

struct Args {
  std::string image, cmdline, console_log, junit, name;
  uint64_t memory = 0;
  unsigned vcpus = 1;
  std::vector<std::string> modules, expect, fail_on;
  double timeout = 60;
  bool json = false;
};

int fail(const std::string& msg) {
  std::cerr << "pvhboot: error: " << msg << "\n";
  return kFail;
}

// The image is mapped, not read: pvhboot looks at its headers (and copies PT_LOADs into a hole
// window); libxc reads the file itself. Reading it whole cost a page fault per page, which in a
// nested PV dom0 was tens of milliseconds before the build could start.
struct Prepared {
  loader::Plan plan;
  elfwrap::MappedFile image;
  std::vector<loader::LoadSegment> segments;
};

// Reads the image, checks it is a PVH kernel, and computes the plan.
elfwrap::Expected<Prepared> plan_for(const Args& a) {
  auto file = elfwrap::MappedFile::open(a.image);
  if (!file) return file.take_error();
  const auto bytes = file->bytes();
  // Only the ELF headers matter here (any PVH kernel boots, not only firmware images), read by
  // the same checked reader as elfwrap's.
  const bool is_elf = elfwrap::looks_like_elf(bytes);
  std::vector<elfwrap::Warning> warnings;
  auto elf = is_elf ? elfwrap::parse_elf(bytes, warnings) : elfwrap::Expected<elfwrap::ElfWrapper>(elfwrap::ElfWrapper{});
  if (!elf) return elfwrap::with_file(elf.take_error(), a.image);
  if (!is_elf || !elf->phys32_entry())
    return elfwrap::plain_error("'" + a.image + "': not a PVH kernel (no ELF header with a Xen PHYS32_ENTRY note); wrap it with elfwrap");
  loader::PlanInput in;
  in.image_name = a.image;
  std::vector<loader::LoadSegment> segments;
  for (const auto& s : elf->segments)
    if (s.type == elfwrap::elf::kPtLoad && s.memsz) {
      in.load_start = segments.empty() ? s.paddr : std::min(in.load_start, s.paddr);  // 0 is an address too
      in.load_end = std::max(in.load_end, s.paddr + s.memsz);
      segments.push_back({s.paddr, s.offset, s.filesz, s.memsz});
    }
  in.entry = *elf->phys32_entry();
  in.memory_mib = a.memory;
  in.vcpus = a.vcpus;
  in.cmdline = a.cmdline;
  for (const auto& m : a.modules) {  // their sizes; libxc reads them
    auto mf = elfwrap::MappedFile::open(m);
    if (!mf) return mf.take_error();
    in.modules.emplace_back(m, mf->bytes().size());
  }
  auto plan = loader::make_plan(in);
  if (!plan) return plan.take_error();
  return Prepared{std::move(*plan), std::move(*file), std::move(segments)};
}

int run_plan(const Args& a) {
  auto prep = plan_for(a);
  if (!prep) return fail(elfwrap::to_string(prep.error()));
  const loader::Plan* plan = &prep->plan;
  auto xp = loader::xen_parse(prep->image.bytes());
  nlohmann::json j = loader::to_json(*plan);
  j["image"] = a.image;
  j["libxenguest"] = xp ? nlohmann::json{{"rc", xp->rc}, {"pvh", xp->pvh}, {"seg_start", xp->seg_start}, {"seg_end", xp->seg_end}}
                        : nlohmann::json(nullptr);
  bool ok = xp && xp->rc == 0 && xp->pvh && xp->seg_start == plan->placements[0].start && xp->seg_end == plan->placements[0].end;
  std::string stub_text;
  if (plan->hole_window) {
    // What libxc will really load: the entry stub, which must parse as a PVH image at 1 MiB.
    const auto stub = loader::entry_stub(static_cast<uint32_t>(plan->entry));
    auto sp = loader::xen_parse(stub);
    const bool stub_ok = sp && sp->rc == 0 && sp->pvh && sp->seg_start == loader::kStubAddress && sp->phys32_entry;
    j["entry_stub"] = sp ? nlohmann::json{{"rc", sp->rc}, {"pvh", sp->pvh}, {"seg_start", sp->seg_start}, {"seg_end", sp->seg_end},
                                          {"phys32_entry", sp->phys32_entry ? nlohmann::json(*sp->phys32_entry) : nlohmann::json(nullptr)},
                                          {"jumps_to", plan->entry}}
                         : nlohmann::json(nullptr);
    stub_text = stub_ok ? "PVH image, kernel segment " + hex(sp->seg_start) + "-" + hex(sp->seg_end) + ", PHYS32_ENTRY " + hex(*sp->phys32_entry) +
                              ", jumps to " + hex(plan->entry)
                        : "does not parse";
    ok = ok && stub_ok;
  }
  if (a.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << a.image << ": PVH entry " << hex(plan->entry) << ", " << plan->vcpus << " vCPU(s), "
              << (plan->memory_bytes >> 20) << " MiB\n  memory map:\n";
    for (const auto& e : plan->e820)
      std::cout << "    " << hex(e.addr) << "-" << hex(e.addr + e.size) << " " << (e.type == loader::kE820Ram ? "RAM" : "reserved") << "\n";
    std::cout << "  placements:\n";
    for (const auto& p : plan->placements) std::cout << "    " << hex(p.start) << "-" << hex(p.end) << " " << p.what << "\n";
    const bool image_ok = xp && xp->rc == 0 && xp->pvh;
    std::cout << "  libxenguest (dummy parse): " << (image_ok ? "PVH image, kernel segment " + hex(xp->seg_start) + "-" + hex(xp->seg_end) : "does not agree") << "\n";
    if (plan->hole_window)
      std::cout << "  image in the MMIO hole: pvhboot populates " << hex(plan->hole_window->start) << "-" << hex(plan->hole_window->end)
                << " and copies it there; libxc loads the entry stub (dummy parse: " << stub_text << ")\n";
  }
  if (!ok) return fail("libxenguest's parse does not find this PVH image at its PT_LOAD");
  return kOk;
}

struct Watch {
  std::vector<std::regex> expect, fail_on;
  std::vector<double> seen_at;  // per expect, -1 until seen
  std::string failed_line;
  double first_output = -1;
  bool done() const {
    for (double t : seen_at)
      if (t < 0) return false;
    return true;
  }
};

void write_junit(const std::string& path, const std::string& name, bool ok, const std::string& reason, double t, const std::string& log) {
  auto esc = [](const std::string& s) {
    std::string o;
    for (char c : s) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;" : std::string(1, c);
    return o;
  };
  std::ofstream f(path);
  f << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"pvhboot\" tests=\"1\" failures=\"" << (ok ? 0 : 1)
    << "\">\n  <testcase classname=\"pvhboot\" name=\"" << esc(name) << "\" time=\"" << t << "\">";
  if (!ok) f << "<failure message=\"" << esc(reason) << "\">" << esc(log) << "</failure>";
  f << "</testcase>\n</testsuite>\n";
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count(); }

// One console line: log it with a timestamp and match it against --expect / --fail-on.
void on_line(Watch& w, std::ostream& log, std::ostringstream& tail, const std::string& src, const std::string& line) {
  const double t = now();
  if (w.first_output < 0) w.first_output = t;
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "[%8.3f] %-7s| ", t, src.c_str());
  log << stamp << line << std::endl;
  tail << stamp << line << "\n";
  for (size_t i = 0; i < w.expect.size(); ++i)
    if (w.seen_at[i] < 0 && std::regex_search(line, w.expect[i])) w.seen_at[i] = t;
  for (const auto& f : w.fail_on)
    if (w.failed_line.empty() && std::regex_search(line, f)) w.failed_line = line;
}

// Watches the running domain until the verdict is known. With --expect: done when every
// expected line appeared. Without: the guest must keep running (no fail-on line) until --timeout.
// Returns the reason for failure, empty on success.
std::string watch(loader::Domain& dom, Watch& w, const Args& a, std::ostream& log, std::ostringstream& tail) {
  const bool watch_only = w.expect.empty();
  bool running = true;
  while (watch_only || !w.done()) {
    if (g_signal) return std::string("interrupted by signal ") + std::to_string(g_signal);
    if (now() > a.timeout)
      return watch_only ? std::string() : "timeout after " + std::to_string(static_cast<int>(a.timeout)) + " s";
    if (!running) return "the domain stopped (shut down or crashed)";
    running = dom.poll([&](const std::string& src, const std::string& line) { on_line(w, log, tail, src, line); }, 100);
    if (!w.failed_line.empty()) return "forbidden line: " + w.failed_line;
  }
  return {};
}

elfwrap::Expected<Watch> make_watch(const Args& a) {
  Watch w;
  try {
    for (const auto& r : a.expect) w.expect.emplace_back(r);
    for (const auto& r : a.fail_on) w.fail_on.emplace_back(r);
  } catch (const std::regex_error& e) {
    return elfwrap::plain_error(std::string("bad regular expression: ") + e.what());
  }
  w.seen_at.assign(w.expect.size(), -1);
  return w;
}

int run_boot(const Args& a) {
  auto prep = plan_for(a);
  if (!prep) return fail(elfwrap::to_string(prep.error()));
  auto w = make_watch(a);
  if (!w) {
    std::cerr << "pvhboot: error: " << elfwrap::to_string(w.error()) << "\n";
    return kUsage;
  }
  std::signal(SIGINT, [](int s) { g_signal = s; });
  std::signal(SIGTERM, [](int s) { g_signal = s; });
  loader::BuildRequest req{prep->plan, a.name.empty() ? "pvhboot-" + std::to_string(::getpid()) : a.name, a.image, a.modules, a.cmdline,
                           prep->image.bytes(), std::move(prep->segments)};
  auto dom = loader::Domain::build(req);  // destroys what it created if it fails
  if (!dom) return fail("building the domain: " + elfwrap::to_string(dom.error()));
  const double unpaused = now();
  // The same instant on CLOCK_BOOTTIME (what /proc/uptime shows): a caller that noted the time
  // before starting pvhboot measures from there, exec and dynamic linking included.
  timespec bt{};
  clock_gettime(CLOCK_BOOTTIME, &bt);
  const double unpaused_boottime = static_cast<double>(bt.tv_sec) + static_cast<double>(bt.tv_nsec) * 1e-9;
  std::ofstream clog;
  if (!a.console_log.empty()) clog.open(a.console_log);
  std::ostringstream tail;
  const std::string reason = watch(**dom, *w, a, clog.is_open() ? static_cast<std::ostream&>(clog) : std::cout, tail);
  const uint32_t domid = (*dom)->domid();
  const bool destroyed = (*dom)->destroy();
  const bool ok = reason.empty();
  nlohmann::json j = {{"image", a.image}, {"domid", domid}, {"ok", ok}, {"reason", reason},
                      {"created_s", (*dom)->times().created_s}, {"built_s", (*dom)->times().built_s}, {"ready_s", (*dom)->times().ready_s}, {"unpaused_s", unpaused}, {"unpaused_boottime_s", unpaused_boottime}, {"first_output_s", w->first_output},
                      {"xenstore", (*dom)->xenstore_registered()}, {"destroyed", destroyed}};
  j["expect"] = nlohmann::json::array();
  for (size_t i = 0; i < a.expect.size(); ++i) j["expect"].push_back({{"regex", a.expect[i]}, {"seen_s", w->seen_at[i]}});
  if (!a.junit.empty()) write_junit(a.junit, a.image, ok, reason, now(), tail.str());
  if (a.json) std::cout << j.dump(2) << "\n";
  else std::cerr << "pvhboot: domain " << domid << " " << (ok ? "passed" : "FAILED: " + reason) << "; unpaused after "
                 << unpaused << " s; destroyed\n";
  return ok ? kOk : kFail;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pvhboot: create a PVH domain from a kernel image, watch its console, judge it, destroy it"};
  app.footer("Examples:\n  pvhboot plan ovmf-pvh.elf --memory 256\n"
             "  pvhboot run ovmf-pvh.elf --memory 256 --expect 'UEFI Interactive Shell' --timeout 60\n"
             "Exit status: 0 every expected line appeared and no fail-on line did; 1 otherwise; 2 usage.");
  app.set_version_flag("--version", "pvhboot 0.1.0");
  app.require_subcommand(1);
  Args a;
  auto common = [&](CLI::App* s) {
    s->add_option("IMAGE", a.image, "PVH kernel (ELF with a Xen PHYS32_ENTRY note)")->required();
    s->add_option("--memory", a.memory, "guest memory in MiB")->required();
    s->add_option("--vcpus", a.vcpus, "vCPUs (default 1)");
    s->add_option("--cmdline", a.cmdline, "command line passed in start_info");
    s->add_option("--module", a.modules, "module passed in start_info (repeatable)");
    s->add_flag("--json", a.json, "print the result as JSON");
  };
  CLI::App* plan = app.add_subcommand("plan", "Print the guest layout (no hypervisor needed)");
  common(plan);
  CLI::App* run = app.add_subcommand("run", "Boot it on Xen (dom0), watch, judge, destroy");
  common(run);
  run->add_option("--expect", a.expect, "regex that must appear on the console (repeatable); without any, the guest "
                                        "must keep running until --timeout");
  run->add_option("--fail-on", a.fail_on, "regex that must not appear (repeatable)");
  run->add_option("--timeout", a.timeout, "seconds (default 60)");
  run->add_option("--console-log", a.console_log, "write the timestamped console log here");
  run->add_option("--junit", a.junit, "write a JUnit XML result here");
  run->add_option("--name", a.name, "domain name (default pvhboot-PID)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "pvhboot: error: " << e.what() << "\n";
    return kUsage;
  }
  return plan->parsed() ? run_plan(a) : run_boot(a);
}
