// pvhboot plan, run as a user runs it (no hypervisor: libxenguest's dummy-mode parse).
// pvhboot run is tested on real Xen by scripts/xen-e2e.sh; here only how it fails without Xen.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "loader/xen_backend.hpp"
#include "tests/integration/run.hpp"

using it::run;

TEST_CASE("pvhboot plan: the layout, agreed by libxenguest's own parse") {
  it::TempDir t;
  const std::string img = it::fixture(t, "xen-pvh-2m"), elf = t.path("x.elf");
  REQUIRE(run({it::elfwrap_bin(), img, "-o", elf}).status == 0);
  auto r = run({PVHBOOT_BIN, "plan", elf, "--memory", "256", "--json"});
  CHECK(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["libxenguest"]["pvh"] == true);
  CHECK(j["libxenguest"]["seg_start"] == 0x100000);
  CHECK(j["libxenguest"]["seg_end"] == 0x300000);
  CHECK(j["entry"] == 0x2fffd0);
  CHECK(j["e820"][1]["addr"] == 0xfc000000u);
  CHECK(j["e820"][1]["type"] == "acpi");
  CHECK(j["e820"][2]["addr"] == 0xfeff8000u);
  CHECK(j["acpi"]["rsdp"] == 0xfc005000u);
  r = run({PVHBOOT_BIN, "plan", elf, "--memory", "256"});
  CHECK(r.out.find("libxenguest (dummy parse): PVH image, kernel segment 0x100000-0x300000") != std::string::npos);
  CHECK(r.out.find("ACPI: RSDP at 0xfc005000 (start_info rsdp_paddr), tables:") != std::string::npos);
  CHECK(r.out.find("    APIC at 0xfc004") != std::string::npos);
}

TEST_CASE("pvhboot plan --vcpus and --generation-id: the MADT grows, the ID is shown with its address; bad values refused") {
  it::TempDir t;
  const std::string elf = t.path("x.elf");
  REQUIRE(run({it::elfwrap_bin(), it::fixture(t, "xen-pvh-2m"), "-o", elf}).status == 0);
  auto r = run({PVHBOOT_BIN, "plan", elf, "--memory", "256", "--vcpus", "4", "--generation-id", "8f2c1d3a-6b5e-4c7d-9a0b-1c2d3e4f5a6b"});
  REQUIRE(r.status == 0);
  CHECK(r.out.find("4 vCPU(s)") != std::string::npos);
  CHECK(r.out.find("APIC at 0xfc004") != std::string::npos);
  CHECK(r.out.find(", 76 bytes") != std::string::npos);  // 44 + 4 Local APIC entries
  CHECK(r.out.find("    SSDT at ") != std::string::npos);
  CHECK(r.out.find("VM generation ID 8f2c1d3a-6b5e-4c7d-9a0b-1c2d3e4f5a6b at 0xfc006000 (16 bytes, reserved page") != std::string::npos);
  CHECK(r.out.find("0xfc006000-0xfc007000 reserved") != std::string::npos);
  r = run({PVHBOOT_BIN, "plan", elf, "--memory", "256", "--generation-id", "nope"});
  CHECK(r.status == 1);
  CHECK(r.err.find("--generation-id 'nope': expected a GUID") != std::string::npos);
  r = run({PVHBOOT_BIN, "plan", elf, "--memory", "256", "--vcpus", "129"});
  CHECK(r.status == 1);
  CHECK(r.err.find("--vcpus 129 is outside 1..128") != std::string::npos);
}

TEST_CASE("pvhboot plan: an image in the MMIO hole gets a populated window and an entry stub libxenguest accepts") {
  it::TempDir t;
  const std::string hole = t.path("hole.elf");
  REQUIRE(run({it::elfwrap_bin(), it::fixture(t, "xen-pvh-2m"), "-o", hole, "--load-address", "0xffe00000", "--allow-mmio-hole"}).status ==
          0);
  auto r = run({PVHBOOT_BIN, "plan", hole, "--memory", "256", "--json"});
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["hole_window"]["start"] == 0xffe00000u);
  CHECK(j["hole_window"]["end"] == 0x100000000ull);
  CHECK(j["libxenguest"]["seg_start"] == 0xffe00000u);  // the image itself, as libxc reads it
  CHECK(j["entry_stub"]["pvh"] == true);                // and the stub libxc really loads
  CHECK(j["entry_stub"]["seg_start"] == 0x100000);
  CHECK(j["entry_stub"]["jumps_to"] == 0xffffffd0u);
  CHECK(j["e820"][3]["addr"] == 0xffe00000u);
  CHECK(j["e820"][3]["type"] == "reserved");
  r = run({PVHBOOT_BIN, "plan", hole, "--memory", "256"});
  CHECK(r.out.find("image in the MMIO hole: pvhboot populates 0xffe00000-0x100000000 and copies it there; libxc loads the entry stub "
                   "(dummy parse: PVH image, kernel segment 0x100000-") != std::string::npos);
}

TEST_CASE("pvhboot plan: any PVH kernel, not only a firmware image") {
  // A minimal PVH ELF that is no firmware image at all (no volumes): pvhboot's own entry stub.
  it::TempDir t;
  const std::string k = t.path("kernel.elf");
  it::write_bytes(k, loader::entry_stub(0x100000));
  auto r = run({PVHBOOT_BIN, "plan", k, "--memory", "64", "--json"});
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["libxenguest"]["pvh"] == true);
  CHECK(j["libxenguest"]["seg_start"] == 0x100000);
  CHECK(j["placements"][0]["start"] == 0x100000);
  CHECK(j["hole_window"].is_null());
}

TEST_CASE("pvhboot plan: what it refuses, and usage errors") {
  it::TempDir t;
  auto r = run({PVHBOOT_BIN, "plan", it::fixture(t, "xen-pvh-2m"), "--memory", "256"});
  CHECK(r.status == 1);
  CHECK(r.err ==
        "pvhboot: error: '" + it::fixture(t, "xen-pvh-2m") + "': not a PVH kernel (no ELF header); wrap a firmware image with elfwrap\n");
  const std::string hole = t.path("hole.elf");
  REQUIRE(run({it::elfwrap_bin(), it::fixture(t, "xen-pvh-2m"), "-o", hole, "--load-address", "0xffe00000", "--allow-mmio-hole"}).status ==
          0);
  CHECK(run({PVHBOOT_BIN, "plan", hole}).status == 2);
  r = run({PVHBOOT_BIN, "plan", t.path("missing.elf"), "--memory", "256"});
  CHECK(r.status == 1);
  CHECK(r.err == "pvhboot: error: '" + t.path("missing.elf") + "': cannot open: No such file or directory\n");
  r = run({PVHBOOT_BIN, "plan", t.path(""), "--memory", "256"});
  CHECK(r.status == 1);
  CHECK(r.err.find("': not a regular file (a directory)") != std::string::npos);
  r = run({PVHBOOT_BIN, "plan", hole, "--memory", "256", "--module", t.path("missing.bin")});
  CHECK(r.status == 1);
  CHECK(r.err.find("missing.bin': cannot open") != std::string::npos);
  // A PT_LOAD whose p_paddr + p_memsz wraps around 64 bits looks small to a loader that adds
  // them; pvhboot copies an image in the hole itself, so the checked reader refuses it.
  fx::Bytes wrapped = it::read_bytes(hole);
  fx::put64(wrapped, 0x40 + 0x28, 0xffffffff00300000ull);  // phdr[0].p_memsz
  it::write_bytes(t.path("wrapped.elf"), wrapped);
  r = run({PVHBOOT_BIN, "plan", t.path("wrapped.elf"), "--memory", "256"});
  CHECK(r.status == 1);
  CHECK(r.err == "pvhboot: error: '" + t.path("wrapped.elf") +
                     "': ELF/phdr[0] at 0x0: PT_LOAD p_paddr 0xffe00000 + p_memsz 0xffffffff00300000 overflows 64 bits\n");
  const std::string good = t.path("good.elf");
  REQUIRE(run({it::elfwrap_bin(), it::fixture(t, "xen-pvh-1m"), "-o", good}).status == 0);
  r = run({PVHBOOT_BIN, "run", good, "--memory", "256", "--expect", "("});  // refused before touching Xen
  CHECK(r.status == 2);
  CHECK(r.err.find("pvhboot: error: bad regular expression") != std::string::npos);
  const auto h = run({PVHBOOT_BIN, "--help"});
  CHECK(h.status == 0);
  CHECK(h.out.find("pvhboot run ovmf-pvh.elf --memory 256 --expect 'UEFI Interactive Shell'") != std::string::npos);
}

// The guest-boundary item "libxc's log": pvhboot opens libxc with a logger of its own, so what
// libxc says ends up in pvhboot's error instead of on stderr by itself. On a host without Xen
// (this one, and CI's) the real libxencall fails to open the hypercall device and says why.
TEST_CASE("pvhboot run without a hypervisor: one error, with libxc's own reason in it") {
  if (std::filesystem::exists("/dev/xen/privcmd") || std::filesystem::exists("/proc/xen/privcmd")) {
    MESSAGE("this host runs Xen: pvhboot run is tested there by scripts/xen-e2e.sh");
    return;
  }
  it::TempDir t;
  const std::string elf = t.path("x.elf");
  REQUIRE(run({it::elfwrap_bin(), it::fixture(t, "xen-pvh-2m"), "-o", elf}).status == 0);
  const auto r = run({PVHBOOT_BIN, "run", elf, "--memory", "256", "--expect", "Shell>"});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  INFO("stderr: ", r.err);
  CHECK(r.err.rfind("pvhboot: error: building the domain: xc_interface_open (is this dom0, with xen-privcmd loaded?) failed: ", 0) == 0);
  CHECK(r.err.find("(libxc: xencall: error: Could not obtain handle on privileged command interface") != std::string::npos);
  CHECK(r.err.find("xencall:") == r.err.rfind("xencall:"));  // said once, inside the error
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}
