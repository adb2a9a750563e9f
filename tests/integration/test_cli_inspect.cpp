// elfwrap inspect, run as a user runs it: stdout, stderr, exit status, JSON validity.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/run.hpp"

using it::run;

TEST_CASE("inspect --json on Debian's OVMF.fd is valid JSON with the documented schema") {
  const auto r = run({it::elfwrap_bin(), "inspect", "/usr/share/ovmf/OVMF.fd", "--json"});
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["file"] == "/usr/share/ovmf/OVMF.fd");
  CHECK(j["size"] == 0x200000);
  CHECK(j["elf"].is_null());
  CHECK(j["volumes"].size() == 3);
  for (const auto& v : j["volumes"])
    for (const char* k : {"offset", "length", "filesystem_guid", "name_guid", "role"}) CHECK(v.contains(k));
  CHECK(j["nvstore"]["layout"] == "0x20000");
  for (const char* k : {"offset", "length", "layout", "authenticated", "variables"}) CHECK(j["nvstore"].contains(k));
  CHECK(j["reset_vector"]["flavor"] == "stock");
  CHECK(j["reset_vector"]["guided_table"].size() == 5);
  CHECK(j["warnings"].empty());
}

TEST_CASE("inspect text report names what it found") {
  it::TempDir t;
  const auto r = run({it::elfwrap_bin(), "inspect", it::fixture(t, "edk2-elf-4m")});
  CHECK(r.status == 0);
  CHECK(r.out.find("ELF header: ELF32 EM_386, entry 0x2fffd0") != std::string::npos);
  CHECK(r.out.find("note \"Xen\" type 18 (PHYS32_ENTRY) = 0x2fffd0") != std::string::npos);
  CHECK(r.out.find("reset vector: xen-pvh, PVH entry at image offset 0x3fffd0") != std::string::npos);
  CHECK(r.out.find("layout 0x84000 (FV and variable-store headers replaced by an ELF header") != std::string::npos);
  // p_align 0 is a soft finding: a warning on stderr, exit 0; --strict makes it a failure.
  CHECK(r.err.find("elfwrap: warning: '") != std::string::npos);
  CHECK(r.err.find("PT_NOTE p_align 0x0 is not 4") != std::string::npos);
  CHECK(run({it::elfwrap_bin(), "inspect", "--strict", it::fixture(t, "edk2-elf-4m")}).status == 1);
  CHECK(run({it::elfwrap_bin(), "inspect", "--strict", it::fixture(t, "xen-pvh-2m")}).status == 0);
}

TEST_CASE("inspect errors: file, offset, what was expected; exit 1; usage errors exit 2") {
  it::TempDir t;
  const std::string bad = t.path("bad.fd");
  fx::Bytes b = fx::ovmf_image(0x100000, fx::Tail::xen_pvh);
  fx::put64(b, 0x20000 + 0x20, 0x7fffffff);
  it::write_bytes(bad, b);
  auto r = run({it::elfwrap_bin(), "inspect", bad});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "elfwrap: error: '" + bad + "': FV[1] at 0x20000: FvLength 0x7fffffff runs past end of image (0x100000)\n");
  r = run({it::elfwrap_bin(), "inspect", t.path("missing.fd")});
  CHECK(r.status == 1);
  CHECK(r.err == "elfwrap: error: '" + t.path("missing.fd") + "': cannot open: No such file or directory\n");
  CHECK(run({it::elfwrap_bin(), "inspect"}).status == 2);
  CHECK(run({it::elfwrap_bin(), "inspect", bad, "--no-such-option"}).status == 2);
  CHECK(run({it::elfwrap_bin()}).status == 2);
}

TEST_CASE("--help shows examples and --version the version") {
  const auto h = run({it::elfwrap_bin(), "--help"});
  CHECK(h.status == 0);
  CHECK(h.out.find("elfwrap OVMF.fd -o ovmf-pvh.elf") != std::string::npos);
  CHECK(h.out.find("type = \"pvh\"") != std::string::npos);
  const auto v = run({it::elfwrap_bin(), "--version"});
  CHECK(v.status == 0);
  CHECK(v.out.find("elfwrap 0.2.0") != std::string::npos);
}
