// pvhboot: boot a PVH kernel (e.g. an elfwrap-wrapped OvmfXen) without xl, watch its console,
// judge it, and always destroy the domain. The engine of boot smoke jobs. Thin driver: options,
// calling the loader library, rendering, exit codes.
//   pvhboot plan IMAGE --memory MIB [--json]         (no hypervisor: libxenguest's dummy parse)
//   pvhboot run IMAGE --memory MIB [--expect RE]...  (dom0 of a real Xen)
//   pvhboot reap                                     (destroy domains whose pvhboot was killed)
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <vector>

#include "elfwrap/file_io.hpp"
#include "elfwrap/image.hpp"
#include "elfwrap/json.hpp"
#include "loader/boot_plan.hpp"
#include "loader/judge.hpp"
#include "loader/owner.hpp"
#include "loader/xen_backend.hpp"
#include "pflash/store.hpp"
#include "tools/common/junit.hpp"
#include "tools/common/numbers.hpp"
#include "xencheck/xen_parse.hpp"

namespace {

using elfwrap::hex;
constexpr int kOk = 0, kFail = 1, kUsage = 2;
volatile std::sig_atomic_t g_signal = 0;
const auto g_start = std::chrono::steady_clock::now();  // process start, for the timings

struct Args {
  std::string image, cmdline, console_log, junit, name, memory, vcpus = "1", owner_dir = loader::kDefaultOwnerDir, vars, generation_id;
  std::vector<std::string> modules, expect, fail_on;
  std::string input, input_after = "Shell> ";
  double timeout = 60;
  bool json = false;
};

int fail(const std::string& msg) {
  std::cerr << "pvhboot: error: " << msg << "\n";
  return kFail;
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count(); }

// The inputs, mapped (only the pages looked at are read) and kept for the plan's spans.
struct Inputs {
  elfwrap::MappedFile image;
  std::vector<elfwrap::MappedFile> modules;
};

struct Planned {
  Inputs inputs;
  loader::BootPlan plan;
};

// --vars: where the firmware's flash goes (its FD base), if the VARS file fits the firmware.
elfwrap::Expected<loader::Placement> flash_range(const Args& a, std::span<const std::byte> image) {
  auto fw = elfwrap::parse_image(image);
  if (!fw) return elfwrap::with_file(fw.take_error(), a.image);
  auto vb = elfwrap::read_file(a.vars);
  if (!vb) return vb.take_error();
  auto vars = elfwrap::parse_image(*vb);
  if (!vars) return elfwrap::with_file(vars.take_error(), a.vars);
  auto plan = pflash::plan_store(*vars, &*fw, std::nullopt);
  if (!plan) return elfwrap::with_file(plan.take_error(), a.vars);
  return loader::Placement{"flash of the UEFI variables (xen-pflash, " + a.vars + ")", plan->base, plan->base + plan->size};
}

elfwrap::Expected<Planned> make_plan(const Args& a) {
  auto img = elfwrap::MappedFile::open(a.image);
  if (!img) return img.take_error();
  Inputs in{std::move(*img), {}};
  loader::BootConfig c;
  c.image_name = a.image;
  c.memory_mib = *tools::parse_number(a.memory);  // the option validator accepted it
  c.vcpus = static_cast<unsigned>(std::min<uint64_t>(*tools::parse_number(a.vcpus), 1u << 16));
  c.cmdline = a.cmdline;
  for (const auto& m : a.modules) {
    auto mf = elfwrap::MappedFile::open(m);
    if (!mf) return mf.take_error();
    in.modules.push_back(std::move(*mf));
  }
  for (size_t k = 0; k < a.modules.size(); ++k) c.modules.push_back({a.modules[k], in.modules[k].bytes()});
  if (!a.generation_id.empty()) {
    auto id = loader::parse_generation_id(a.generation_id);
    if (!id) return id.take_error();
    c.generation_id = *id;
  }
  if (!a.vars.empty()) {
    auto flash = flash_range(a, in.image.bytes());
    if (!flash) return flash.take_error();
    c.flash = *flash;
  }
  // Only the ELF headers matter (any PVH kernel boots, not only firmware images), read by the
  // same checked reader as elfwrap's.
  std::vector<elfwrap::Warning> warnings;
  const auto bytes = in.image.bytes();
  if (!elfwrap::looks_like_elf(bytes))
    return elfwrap::plain_error("'" + a.image + "': not a PVH kernel (no ELF header); wrap a firmware image with elfwrap");
  auto elf = elfwrap::parse_elf(bytes, warnings);
  if (!elf) return elfwrap::with_file(elf.take_error(), a.image);
  auto plan = loader::make_boot_plan(*elf, bytes, c);
  if (!plan) return plan.take_error();
  return Planned{std::move(in), std::move(*plan)};
}

// libxenguest's own parse of what libxc will load, against the plan; problems, and its JSON.
std::vector<std::string> xen_check(const loader::BootPlan& p, nlohmann::json& j) {
  std::vector<std::string> problems;
  auto check = [&](std::span<const std::byte> bytes, uint64_t start, uint64_t end, std::optional<uint64_t> entry, const char* key) {
    auto x = xencheck::xen_parse(bytes);
    if (!x) {
      problems.push_back(elfwrap::to_string(x.error()));
      j[key] = nullptr;
      return;
    }
    for (auto& d : elfwrap::xen_disagreements(*x, start, end, entry)) problems.push_back(key + std::string(": ") + d);
    j[key] = {{"rc", x->rc},
              {"pvh", x->pvh},
              {"seg_start", x->seg_start},
              {"seg_end", x->seg_end},
              {"phys32_entry", x->phys32_entry ? nlohmann::json(*x->phys32_entry) : nlohmann::json(nullptr)}};
  };
  check(p.image, p.load_start, p.load_end, p.entry, "libxenguest");
  if (p.hole_window) {  // what libxc really loads: the entry stub, a PVH image at 1 MiB
    check(p.stub, loader::kStubAddress, loader::kStubAddress + p.stub.size(), std::nullopt, "entry_stub");
    j["entry_stub"]["jumps_to"] = p.entry;
  }
  return problems;
}

void render_plan(std::ostream& out, const Args& a, const loader::BootPlan& p, const nlohmann::json& j) {
  out << a.image << ": PVH entry " << hex(p.entry) << ", " << p.vcpus << " vCPU(s), " << (p.memory_bytes >> 20) << " MiB\n  memory map:\n";
  for (const auto& e : p.e820)
    out << "    " << hex(e.addr) << "-" << hex(e.addr + e.size) << " "
        << (e.type == loader::kE820Ram    ? "RAM"
            : e.type == loader::kE820Acpi ? "ACPI"
                                          : "reserved")
        << "\n";
  out << "  ACPI: RSDP at " << hex(p.acpi.rsdp) << " (start_info rsdp_paddr), tables:\n";
  for (const auto& t : p.acpi.tables) out << "    " << t.signature << " at " << hex(t.address) << ", " << t.length << " bytes\n";
  if (p.generation_id)
    out << "  VM generation ID " << loader::generation_id_str(*p.generation_id) << " at " << hex(*p.acpi.generation_id_address)
        << " (16 bytes, reserved page; ACPI device \\_SB.VGID)\n";
  out << "  placements:\n";
  for (const auto& pl : p.placements) out << "    " << hex(pl.start) << "-" << hex(pl.end) << " " << pl.what << "\n";
  const auto& x = j["libxenguest"];
  const bool agree = x.is_object() && x["rc"] == 0 && x["pvh"] == true;
  out << "  libxenguest (dummy parse): "
      << (agree ? "PVH image, kernel segment " + hex(x["seg_start"]) + "-" + hex(x["seg_end"]) : std::string("does not agree")) << "\n";
  if (p.hole_window) {
    const auto& s = j["entry_stub"];
    const bool stub_ok = s.is_object() && s["rc"] == 0 && s["pvh"] == true && s["phys32_entry"].is_number();
    out << "  image in the MMIO hole: pvhboot populates " << hex(p.hole_window->start) << "-" << hex(p.hole_window->end)
        << " and copies it there; libxc loads the entry stub (dummy parse: "
        << (stub_ok ? "PVH image, kernel segment " + hex(s["seg_start"]) + "-" + hex(s["seg_end"]) + ", PHYS32_ENTRY " +
                          hex(s["phys32_entry"]) + ", jumps to " + hex(p.entry)
                    : std::string("does not parse"))
        << ")\n";
  }
}

int run_plan(const Args& a) {
  auto planned = make_plan(a);
  if (!planned) return fail(elfwrap::to_string(planned.error()));
  const loader::BootPlan& p = planned->plan;
  nlohmann::json j = loader::to_json(p);
  j["image"] = a.image;
  const auto problems = xen_check(p, j);
  if (a.json)
    std::cout << elfwrap::dump(j) << "\n";
  else
    render_plan(std::cout, a, p, j);
  for (const auto& pr : problems) std::cerr << "pvhboot: error: " << pr << "\n";
  return problems.empty() ? kOk : fail("libxenguest's parse does not agree with the plan");
}

// Destroys the domains of pvhboot processes that are gone; returns how many, printing each.
int reap(const std::string& dir, std::ostream& out) {
  int n = 0;
  for (auto& o : loader::find_orphans(dir)) {
    auto r = loader::destroy_if_handle(o.info.domid, o.info.handle);
    if (!r) {
      std::cerr << "pvhboot: warning: domain " << o.info.domid << " ('" << o.info.name << "'): " << elfwrap::to_string(r.error()) << "\n";
      continue;  // the record stays: another reap may do better
    }
    out << "pvhboot: " << (*r ? "destroyed" : "found gone") << " domain " << o.info.domid << " ('" << o.info.name << "') of pvhboot pid "
        << o.info.pid << ", which is no longer running\n";
    n += *r ? 1 : 0;
    loader::forget(o);
  }
  return n;
}

// xen-pflash, next to pvhboot (or on PATH), serving the domain's flash from --vars.
struct Pflash {
  pid_t pid = -1;
  int status = -1;
};

std::string sibling(const std::string& name) {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::string p(buf, static_cast<size_t>(n));
    p = p.substr(0, p.find_last_of('/') + 1) + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return name;
}

// Starts it for `domid` with the flash at `base` and waits until it serves the flash (it says
// "ready" on a pipe). The plan already checked that the VARS file fits the firmware and where its
// flash goes, so xen-pflash gets that address (--base) rather than the image to parse again: under
// a slow host, parsing the firmware a second time was most of the emulator's start-up. It is
// spawned (posix_spawn: vfork and exec), so pvhboot's page tables are not copied for a child that
// only execs.
elfwrap::Status start_pflash(const Args& a, uint32_t domid, uint64_t base, Pflash& pf) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return elfwrap::plain_error("pipe failed");
  const std::string exe = sibling("xen-pflash"), id = std::to_string(domid), fd = std::to_string(fds[1]), at = elfwrap::hex(base);
  std::vector<std::string> args{"xen-pflash", "--domid", id, "--vars", a.vars, "--base", at, "--ready-fd", fd};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  // Only the pipe's write end is inherited (pvhboot has one thread: nothing else spawns meanwhile).
  ::fcntl(fds[1], F_SETFD, 0);
  const int err = ::posix_spawnp(&pf.pid, exe.c_str(), nullptr, nullptr, argv.data(), environ);
  ::close(fds[1]);
  if (err != 0) {
    ::close(fds[0]);
    pf.pid = -1;
    return elfwrap::plain_error("cannot start xen-pflash (" + exe + "): " + std::strerror(err));
  }
  char buf[8] = {};
  pollfd p{fds[0], POLLIN, 0};
  const bool ready = ::poll(&p, 1, 30000) == 1 && ::read(fds[0], buf, sizeof buf) > 0;
  ::close(fds[0]);
  if (ready) return elfwrap::ok();
  ::kill(pf.pid, SIGKILL);
  return elfwrap::plain_error("xen-pflash (" + exe + ") did not start serving the flash; its error is above");
}

// After the domain is gone: it ends by itself; if it does not within 10 s, it is stopped.
void stop_pflash(Pflash& pf) {
  if (pf.pid <= 0) return;
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pf.pid, &pf.status, WNOHANG) == pf.pid) return;
    ::usleep(50000);
  }
  ::kill(pf.pid, SIGTERM);
  ::waitpid(pf.pid, &pf.status, 0);
}

// --input: typed once a console line matched --input-after (printf-style \r, \n, \t, \\ escapes).
struct Typist {
  std::optional<std::regex> after;
  std::string pending;
  bool armed = false;
  void line(const std::string& text) {
    if (after && !armed && std::regex_search(text, *after)) armed = true;
  }
  void type(loader::Domain& dom) {
    if (armed && !pending.empty()) pending.erase(0, dom.type(pending));
  }
};

std::string unescape(const std::string& s) {
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      o += s[i];
      continue;
    }
    const char c = s[++i];
    o += c == 'r' ? '\r' : c == 'n' ? '\n' : c == 't' ? '\t' : c;
  }
  return o;
}

// Runs the domain until the judge decides; console lines go to `log`.
void watch(loader::Domain& dom, loader::Judge& judge, Typist& typist, std::ostream& log) {
  while (!judge.done()) {
    if (g_signal) {
      judge.interrupted(g_signal);
      break;
    }
    const auto r = dom.poll(
        [&](const std::string& src, const std::string& line) {
          const double t = now();
          char stamp[32];
          std::snprintf(stamp, sizeof stamp, "[%8.3f] %-7s| ", t, src.c_str());
          log << stamp << line << std::endl;
          judge.line(src, line, t);
          typist.line(line);
        },
        100);
    typist.line(r.partial_line);  // a prompt has no newline after it
    typist.type(dom);
    if (!r.broken_ring.empty()) judge.broken(r.broken_ring);
    if (!r.alive) judge.domain_stopped(r.how);
    judge.tick(now());
  }
}

nlohmann::json run_json(const Args& a, const loader::Domain& dom, const loader::Judge& judge, double unpaused, double unpaused_boottime,
                        bool destroyed) {
  nlohmann::json j = {{"image", a.image},
                      {"domid", dom.domid()},
                      {"ok", judge.outcome() == loader::Outcome::pass},
                      {"reason", judge.reason()},
                      {"created_s", dom.times().created_s},
                      {"built_s", dom.times().built_s},
                      {"ready_s", dom.times().ready_s},
                      {"unpaused_s", unpaused},
                      {"unpaused_boottime_s", unpaused_boottime},
                      {"first_output_s", judge.first_output()},
                      {"xenstore", dom.xenstore_registered()},
                      {"destroyed", destroyed}};
  j["expect"] = nlohmann::json::array();
  for (const auto& s : judge.expected()) j["expect"].push_back({{"regex", s.regex}, {"seen_s", s.at}});
  return j;
}

int run_boot(const Args& a) {
  auto planned = make_plan(a);
  if (!planned) return fail(elfwrap::to_string(planned.error()));
  auto judge = loader::Judge::make(a.expect, a.fail_on, a.timeout);
  if (judge && !a.input.empty()) {
    try {
      std::regex(a.input_after, std::regex::extended);
    } catch (const std::regex_error& e) {
      judge = elfwrap::plain_error(std::string("bad regular expression (--input-after): ") + e.what());
    }
  }
  if (!judge) {
    std::cerr << "pvhboot: error: " << elfwrap::to_string(judge.error()) << "\n";
    return kUsage;
  }
  reap(a.owner_dir, std::cerr);  // the leftovers of killed runs, before we add ours
  std::signal(SIGINT, [](int s) { g_signal = s; });
  std::signal(SIGTERM, [](int s) { g_signal = s; });
  const std::string name = a.name.empty() ? "pvhboot-" + std::to_string(::getpid()) : a.name;
  Pflash pf;
  loader::BuildOptions opts{name, a.owner_dir, {}};
  if (planned->plan.flash)
    opts.before_unpause = [&, base = planned->plan.flash->start](uint32_t domid) { return start_pflash(a, domid, base, pf); };
  auto dom = loader::Domain::build(planned->plan, opts);  // destroys what it created if it fails
  if (!dom) {
    stop_pflash(pf);
    return fail("building the domain: " + elfwrap::to_string(dom.error()));
  }
  const double unpaused = now();
  // The same instant on CLOCK_BOOTTIME (what /proc/uptime shows): a caller that noted the time
  // before starting pvhboot measures from there, exec and dynamic linking included.
  timespec bt{};
  clock_gettime(CLOCK_BOOTTIME, &bt);
  const double unpaused_boottime = static_cast<double>(bt.tv_sec) + static_cast<double>(bt.tv_nsec) * 1e-9;
  std::ofstream clog;
  if (!a.console_log.empty()) clog.open(a.console_log);
  std::ostringstream tail;
  struct Tee : std::streambuf {
    std::ostream &a, &b;
    Tee(std::ostream& x, std::ostream& y) : a(x), b(y) {}
    int overflow(int c) override {
      a.put(static_cast<char>(c));
      b.put(static_cast<char>(c));
      return c;
    }
  } tee(clog.is_open() ? static_cast<std::ostream&>(clog) : std::cerr, tail);
  std::ostream log(&tee);
  Typist typist;
  if (!a.input.empty()) {
    typist.after.emplace(a.input_after, std::regex::extended);
    typist.pending = unescape(a.input);
  }
  watch(**dom, *judge, typist, log);
  log.flush();
  const bool destroyed = (*dom)->destroy();
  stop_pflash(pf);
  const bool ok = judge->outcome() == loader::Outcome::pass;
  if (!a.junit.empty()) tools::write_junit(a.junit, "pvhboot", {{a.image, ok, judge->reason(), now(), tail.str()}});
  if (a.json) {
    auto j = run_json(a, **dom, *judge, unpaused, unpaused_boottime, destroyed);
    if (pf.pid > 0) j["pflash_exit"] = WIFEXITED(pf.status) ? WEXITSTATUS(pf.status) : 128 + WTERMSIG(pf.status);
    std::cout << elfwrap::dump(j) << "\n";
  }
  std::cerr << "pvhboot: domain " << (*dom)->domid() << " " << (ok ? "passed" : "FAILED: " + judge->reason()) << "; unpaused after "
            << unpaused << " s; " << (destroyed ? "destroyed" : "NOT destroyed") << "\n";
  return ok && destroyed ? kOk : kFail;
}

void add_common(CLI::App* s, Args& a) {
  s->add_option("IMAGE", a.image, "PVH kernel (ELF with a Xen PHYS32_ENTRY note)")->required();
  s->add_option("--memory", a.memory, "guest memory in MiB")->required()->check(tools::number_validator());
  s->add_option("--vcpus", a.vcpus, "vCPUs, 1..128 (default 1): one MADT Local APIC each, all online at boot")
      ->check(tools::number_validator());
  s->add_option("--cmdline", a.cmdline, "command line passed in start_info");
  s->add_option("--module", a.modules, "module passed in start_info (repeatable)");
  s->add_flag("--json", a.json, "print the result as JSON (only JSON on stdout)");
  s->add_option("--generation-id", a.generation_id, "VM Generation ID: an ACPI VM_Gen_Counter device and this ID (a GUID, or 'random')");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pvhboot: create a PVH domain from a kernel image, watch its console, judge it, destroy it"};
  app.footer(
      "Examples:\n  pvhboot plan ovmf-pvh.elf --memory 256\n"
      "  pvhboot run ovmf-pvh.elf --memory 256 --expect 'UEFI Interactive Shell' --timeout 60\n"
      "  pvhboot reap\n"
      "Exit status: 0 every expected line appeared and no fail-on line did; 1 otherwise; 2 usage.");
  app.set_version_flag("--version", "pvhboot 0.2.0");
  app.require_subcommand(1);
  Args a;
  CLI::App* plan = app.add_subcommand("plan", "Print the guest layout (no hypervisor needed)");
  add_common(plan, a);
  CLI::App* run = app.add_subcommand("run", "Boot it on Xen (dom0), watch, judge, destroy");
  add_common(run, a);
  run->add_option("--expect", a.expect,
                  "extended regex (as grep -E) that must appear on the console (repeatable); without any, the guest "
                  "must keep running until --timeout");
  run->add_option("--fail-on", a.fail_on, "extended regex that must not appear (repeatable)");
  run->add_option("--input", a.input, "text typed on the guest's console once --input-after appeared (\\r for Enter)");
  run->add_option("--input-after", a.input_after, "extended regex after which --input is typed (default 'Shell> ')");
  run->add_option("--timeout", a.timeout, "seconds (default 60; 0: stop watching once the domain runs)")->check(CLI::NonNegativeNumber);
  run->add_option("--console-log", a.console_log, "write the timestamped console log here (default: stderr)");
  run->add_option("--junit", a.junit, "write a JUnit XML result here");
  run->add_option("--name", a.name, "domain name (default pvhboot-PID)");
  run->add_option("--owner-dir", a.owner_dir, "where the owner records of running domains are kept (default /run/pvhboot)");
  for (CLI::App* s : {plan, run})
    s->add_option("--vars", a.vars, "persistent UEFI variables: xen-pflash serves this VARS file as the firmware's flash");
  CLI::App* reap_cmd = app.add_subcommand("reap", "Destroy the domains of pvhboot runs that were killed (SIGKILL, crash)");
  reap_cmd->add_option("--owner-dir", a.owner_dir, "where the owner records are kept (default /run/pvhboot)");
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
  if (reap_cmd->parsed()) {
    reap(a.owner_dir, std::cout);
    return kOk;
  }
  return plan->parsed() ? run_plan(a) : run_boot(a);
}
