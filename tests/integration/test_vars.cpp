// elfwrap vars and compat: Debian's files, fixture stores, and the round trip through the real
// consumer (Debian's OVMF_CODE.fd in QEMU with the VARS file as pflash).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/run.hpp"

using it::run;

namespace {

const std::string kCode = "/usr/share/OVMF/OVMF_CODE.fd", kCode4 = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const std::string kVars = "/usr/share/OVMF/OVMF_VARS.fd", kVars4 = "/usr/share/OVMF/OVMF_VARS_4M.fd";

nlohmann::json vars_json(const std::string& file) {
  const auto r = run({it::elfwrap_bin(), "vars", "list", file, "--json"});
  REQUIRE(r.status == 0);
  return nlohmann::json::parse(r.out);
}

// Boots Debian's OVMF_CODE.fd with `vars` as the writable pflash until its shell appears.
it::Watch boot_ovmf(const std::string& vars) {
  return it::run_until(
      {"qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-m", "256", "-nographic", "-nodefaults", "-serial", "stdio", "-no-reboot",
       "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + kCode, "-drive", "if=pflash,format=raw,unit=1,file=" + vars},
      "UEFI Interactive Shell", 240);
}

}  // namespace

TEST_CASE("vars check: Debian's matching pairs pass, crossed pairs fail with the reason") {
  CHECK(run({it::elfwrap_bin(), "vars", "check", kCode, kVars}).status == 0);
  CHECK(run({it::elfwrap_bin(), "vars", "check", kCode4, kVars4}).status == 0);
  CHECK(run({it::elfwrap_bin(), "vars", "check", "/usr/share/ovmf/OVMF.fd", kVars}).status == 0);
  auto r = run({it::elfwrap_bin(), "vars", "check", kCode4, kVars});
  CHECK(r.status == 1);
  CHECK(r.out.find("incompatible: layout mismatch: the CODE image expects 0x84000 (variable store 0x40000, FTW working "
                   "block at 0x41000, spare at 0x42000) but the VARS file is 0x20000") != std::string::npos);
  r = run({it::elfwrap_bin(), "vars", "check", kCode, kVars4, "--json"});
  CHECK(r.status == 1);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["ok"] == false);
  CHECK(j["differences"][0].get<std::string>().rfind("layout mismatch: the CODE image expects 0x20000", 0) == 0);
}

TEST_CASE("vars blank equals Debian's templates byte for byte") {
  it::TempDir t;
  REQUIRE(run({it::elfwrap_bin(), "vars", "blank", "--layout", "0x20000", "-o", t.path("a.fd")}).status == 0);
  REQUIRE(run({it::elfwrap_bin(), "vars", "blank", "--layout", "0x84000", "-o", t.path("b.fd")}).status == 0);
  CHECK(it::read_bytes(t.path("a.fd")) == it::read_bytes(kVars));
  CHECK(it::read_bytes(t.path("b.fd")) == it::read_bytes(kVars4));
  CHECK(run({it::elfwrap_bin(), "vars", "blank", "--layout", "0x30000", "-o", t.path("c.fd")}).status == 2);
}

TEST_CASE("vars list: every state, first bytes, free space, FTW; corrupt stores give exact errors") {
  it::TempDir t;
  const auto j = vars_json(it::fixture(t, "vars-every-state-2m"));
  REQUIRE(j["variables"].size() == 4);
  CHECK(j["variables"][0]["name"] == "Live");
  CHECK(j["variables"][0]["state"] == "added");
  CHECK(j["variables"][0]["first_bytes"] == "010203");
  CHECK(j["variables"][1]["state"] == "deleted");
  CHECK(j["variables"][2]["state"] == "in-deleted-transition");
  CHECK(j["variables"][3]["state"] == "header-valid-only");
  CHECK(j["live_variables"] == 2);
  CHECK(j["ftw"]["valid"] == true);
  CHECK(j["free_bytes"].get<uint64_t>() > 0xd000);
  fx::Nv nv;
  nv.vars = {fx::Var{}};
  nv.vars[0].name_size = 0x100000;
  it::write_bytes(t.path("bad.fd"), fx::build_nv(nv));
  const auto r = run({it::elfwrap_bin(), "vars", "list", t.path("bad.fd")});
  CHECK(r.status == 1);
  CHECK(r.err == "elfwrap: error: '" + t.path("bad.fd") +
                     "': FV[0]/VarStore/var[0] at 0x64: NameSize 0x100000 is odd, "
                     "zero or runs past the end of the variable store at 0xe000\n");
  const auto code = run({it::elfwrap_bin(), "vars", "list", kCode});
  CHECK(code.status == 1);
  CHECK(code.err.find("no variable store") != std::string::npos);
}

TEST_CASE("compat: same image passes; size class, layout family and flavor changes fail with reasons") {
  it::TempDir t;
  CHECK(run({it::elfwrap_bin(), "compat", "/usr/share/ovmf/OVMF.fd", "/usr/share/ovmf/OVMF.fd"}).status == 0);
  CHECK(run({it::elfwrap_bin(), "compat", kCode, kCode}).status == 0);
  auto r = run({it::elfwrap_bin(), "compat", kCode, kCode4});
  CHECK(r.status == 1);
  CHECK(r.out.find("incompatible: total size changes from 0x1e0000 to 0x37c000") != std::string::npos);
  CHECK(r.out.find("incompatible: NV layout family changes from 0x20000 to 0x84000") != std::string::npos);
  r = run({it::elfwrap_bin(), "compat", it::fixture(t, "xen-pvh-2m"), it::fixture(t, "stock-2m")});
  CHECK(r.status == 1);
  CHECK(r.out.find("incompatible: reset-vector flavor changes from xen-pvh to stock: PVH guests cannot boot NEW") != std::string::npos);
  r = run({it::elfwrap_bin(), "compat", it::fixture(t, "xen-pvh-2m"), it::fixture(t, "xen-pvh-4m"), "--json"});
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["ok"] == false);
  CHECK(j["differences"].size() == 3);  // size, power-of-two class, layout family
}

TEST_CASE("round trip through OVMF itself: extracted and blank VARS files boot, and stay valid stores") {
  it::TempDir t;
  const std::string img = it::fixture(t, "stock-2m-with-keep"), ex = t.path("extracted.fd"), bl = t.path("blank.fd");
  REQUIRE(run({it::elfwrap_bin(), "vars", "extract", img, "-o", ex}).status == 0);
  REQUIRE(run({it::elfwrap_bin(), "vars", "blank", "--layout", "0x20000", "-o", bl}).status == 0);
  CHECK(run({it::elfwrap_bin(), "vars", "check", kCode, ex}).status == 0);
  for (const std::string& vars : {ex, bl}) {
    CAPTURE(vars);
    const auto w = boot_ovmf(vars);
    CHECK(w.found);  // OVMF started normally and reached its shell
    MESSAGE("OVMF shell after " << w.seconds << " s with " << vars);
    const auto j = vars_json(vars);  // still a valid store after OVMF wrote to it
    CHECK(j["ftw"]["valid"] == true);
    CHECK(j["live_variables"].get<int>() > 5);  // OVMF added its own (Boot####, Lang, ...)
    bool kept = false;
    for (const auto& v : j["variables"])
      if (v["name"] == "ElfwrapKeep" && v["state"] == "added" && v["data_size"] == 15) kept = true;
    CHECK(kept == (vars == ex));
  }
}
