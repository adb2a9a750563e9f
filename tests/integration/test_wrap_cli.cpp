// elfwrap wrap / unwrap as a user runs them: user data, atomic and deterministic writes,
// round trips, and bad input (exact error, exit 1, no output, input untouched).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/integration/run.hpp"

using it::run;

namespace {

struct BadCase {
  std::string name;
  std::vector<std::string> args;  // after the binary; "IN" and "OUT" are replaced
  std::string input_kind;         // fixture kind, or a path
  std::string error;              // exact stderr after "elfwrap: error: 'INPUT': " (or the whole line if it starts with "=")
  int status = 1;
};

// The error lines of stderr (without the warnings every command prints about its input).
std::string errors_of(const std::string& err) {
  std::string out, line;
  std::istringstream in(err);
  while (std::getline(in, line))
    if (line.rfind("elfwrap: warning: ", 0) != 0) out += line + "\n";
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("a variable store holding variables is refused, kept with --save-vars, discarded with --force") {
  it::TempDir t;
  const std::string in = it::fixture(t, "xen-pvh-2m-with-var"), out = t.path("out.elf"), vars = t.path("vars.fd");
  const fx::Bytes before = it::read_bytes(in);
  auto r = run({it::elfwrap_bin(), in, "-o", out});
  CHECK(r.status == 1);
  CHECK(r.err == "elfwrap: error: '" + in +
                     "': FV[0]/VarStore at 0x48: the variable store holds 1 variable(s) (user data: "
                     "boot entries, Secure Boot keys) that wrapping would erase; keep them with --save-vars FILE (writes the "
                     "NV region as a VARS file first), or discard them with --force\n");
  CHECK_FALSE(it::exists(out));
  r = run({it::elfwrap_bin(), in, "-o", out, "--save-vars", vars});
  CHECK(r.status == 0);
  const fx::Bytes saved = it::read_bytes(vars);
  CHECK(saved == fx::Bytes(before.begin(), before.begin() + 0x20000));
  const auto j = nlohmann::json::parse(run({it::elfwrap_bin(), "inspect", vars, "--json"}).out);
  CHECK(j["nvstore"]["variables"][0]["name"] == "BootOrder");
  CHECK(run({it::elfwrap_bin(), in, "-o", t.path("forced.elf"), "--force"}).status == 0);
  CHECK(it::read_bytes(in) == before);
  // The saved store goes back in front of the CODE with --vars (and is refused again without --force).
  const std::string code = it::fixture(t, "code-xen-pvh-2m");
  CHECK(run({it::elfwrap_bin(), code, "-o", t.path("c.elf"), "--vars", vars}).status == 1);
  CHECK(run({it::elfwrap_bin(), code, "-o", t.path("c.elf"), "--vars", vars, "--force"}).status == 0);
}

TEST_CASE("output is deterministic, -o may be the input, and the input is otherwise never touched") {
  it::TempDir t;
  const std::string in = it::fixture(t, "xen-pvh-2m");
  REQUIRE(run({it::elfwrap_bin(), in, "-o", t.path("a.elf")}).status == 0);
  REQUIRE(run({it::elfwrap_bin(), "wrap", in, "-o", t.path("b.elf")}).status == 0);
  CHECK(it::read_bytes(t.path("a.elf")) == it::read_bytes(t.path("b.elf")));
  REQUIRE(run({it::elfwrap_bin(), in, "-o", in}).status == 0);
  CHECK(it::read_bytes(in) == it::read_bytes(t.path("a.elf")));
  // Re-wrapping our own output with the same settings is a fixed point.
  REQUIRE(run({it::elfwrap_bin(), in, "-o", t.path("c.elf")}).status == 0);
  CHECK(it::read_bytes(t.path("c.elf")) == it::read_bytes(t.path("a.elf")));
  CHECK(it::count_entries(t.dir().string()) == 4);  // xen-pvh-2m.img, a, b, c: no temp files left
}

TEST_CASE("CODE-only input gets a prefix making a whole number of MiB") {
  it::TempDir t;
  const std::string code = it::fixture(t, "code-xen-pvh-2m"), out = t.path("c.elf");
  const auto r = run({it::elfwrap_bin(), code, "-o", out, "--json"});
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["source"] == "code");
  CHECK(j["prefix_size"] == 0x20000);
  CHECK(j["image_size"] == 0x200000);
  CHECK(j["layout"] == "0x20000");
  const fx::Bytes c = it::read_bytes(code), o = it::read_bytes(out);
  CHECK(std::equal(c.begin(), c.end(), o.begin() + 0x20000));
}

TEST_CASE("unwrap gives back the raw flash image") {
  it::TempDir t;
  for (const char* kind : {"xen-pvh-2m", "xen-pvh-4m"}) {
    const std::string in = it::fixture(t, kind), elf = t.path("w.elf"), raw = t.path("raw.fd");
    REQUIRE(run({it::elfwrap_bin(), in, "-o", elf, "--elf-class", "32"}).status == 0);
    REQUIRE(run({it::elfwrap_bin(), "unwrap", elf, "-o", raw}).status == 0);
    CHECK(it::read_bytes(raw) == it::read_bytes(in));  // the fixture's store is pristine, so exactly
  }
  // Debian's OVMF.fd through an HVM wrap and back, byte for byte.
  REQUIRE(run({it::elfwrap_bin(), "/usr/share/ovmf/OVMF.fd", "-o", t.path("h.elf"), "--target", "hvm"}).status == 0);
  REQUIRE(run({it::elfwrap_bin(), "unwrap", t.path("h.elf"), "-o", t.path("h.fd")}).status == 0);
  CHECK(it::read_bytes(t.path("h.fd")) == it::read_bytes("/usr/share/ovmf/OVMF.fd"));
  // edk2's own header: the unwrapped image has its NV volume again.
  REQUIRE(run({it::elfwrap_bin(), "unwrap", it::fixture(t, "edk2-elf-4m"), "-o", t.path("e.fd")}).status == 0);
  const auto j = nlohmann::json::parse(run({it::elfwrap_bin(), "inspect", t.path("e.fd"), "--json"}).out);
  CHECK(j["elf"].is_null());
  CHECK(j["nvstore"]["fv_present"] == true);
  CHECK(j["nvstore"]["layout"] == "0x84000");
  CHECK(j["warnings"].empty());
  auto r = run({it::elfwrap_bin(), "unwrap", it::fixture(t, "xen-pvh-2m"), "-o", t.path("x.fd")});
  CHECK(r.status == 1);
  CHECK(r.err.find("offset 0x0: no ELF header at offset 0: nothing to unwrap") != std::string::npos);
}

TEST_CASE("unwrap refuses to overwrite or drop a volume in front of the code (user data)") {
  it::TempDir t;
  fx::Nv nv;
  nv.vars = {fx::Var{}};
  // An NV volume holding a variable right after an ELF header: unwrapping would write a blank
  // store of its layout over [0, 0xe000).
  fx::Bytes a = fx::concat({fx::filled(0x1000), fx::build_nv(nv), fx::code_image(0x1e0000, fx::Tail::xen_pvh)});
  fx::overlay_elf(a, fx::ElfSpec{.load_size = a.size(), .varstore_size = 0x1000});
  // The same volume cut to 64 KiB (no OVMF layout): unwrapping would drop all in front of the code.
  fx::Bytes cut = fx::build_nv(nv);
  cut.resize(0x10000);
  fx::put64(cut, 0x20, 0x10000);
  fx::put32(cut, 0x38, 0x10);  // block map: 16 x 4 KiB
  fx::Bytes b = fx::concat({fx::filled(0x1000), cut, fx::code_image(0x1e0000, fx::Tail::xen_pvh)});
  fx::overlay_elf(b, fx::ElfSpec{.load_size = b.size(), .varstore_size = 0x1000});
  const std::vector<std::pair<fx::Bytes, std::string>> cases = {
      {a,
       "FV[0] at 0x1000: nvstore volume inside [0x0, 0xe000), the area a blank variable store would overwrite: "
       "unwrapping would destroy it"},
      {b,
       "FV[0] at 0x1000: nvstore volume inside [0x0, 0x11000), the area in front of the first code volume, which "
       "is dropped: unwrapping would destroy it"},
  };
  for (const auto& c : cases) {
    const fx::Bytes& bytes = c.first;
    const std::string& error = c.second;
    CAPTURE(error);
    const std::string in = t.path("in.elf"), out = t.path("out.fd");
    it::write_bytes(in, bytes);
    const auto r = run({it::elfwrap_bin(), "unwrap", in, "-o", out});
    CHECK(r.status == 1);
    CHECK(r.err.find("'" + in + "': " + error + "\n") != std::string::npos);
    CHECK_FALSE(it::exists(out));
    CHECK(it::read_bytes(in) == bytes);
  }
}

TEST_CASE("bad input: exact error, exit 1, no output file, input untouched") {
  it::TempDir t;
  fx::Bytes trunc = fx::text(
      "\x7f"
      "ELF");
  trunc.resize(20, std::byte{1});
  it::write_bytes(t.path("trunc.elf"), trunc);
  fx::Bytes arm = fx::ovmf_image(0x200000, fx::Tail::xen_pvh);
  fx::overlay_elf(arm, fx::ElfSpec{.machine = 40});
  it::write_bytes(t.path("arm.elf"), arm);
  fx::Bytes fvlen = fx::ovmf_image(0x200000, fx::Tail::xen_pvh);
  fx::put64(fvlen, 0x20020, 0x7fffffff);
  it::write_bytes(t.path("fvlen.fd"), fvlen);
  it::write_bytes(t.path("none.fd"), fx::code_image(0x1e0000, fx::Tail::none));
  std::filesystem::create_directory(t.path("adir"));
  fx::Bytes odd = fx::code_image(0x1e0000, fx::Tail::xen_pvh);
  odd.push_back(std::byte{0xff});
  it::write_bytes(t.path("odd.fd"), odd);
  // An NV volume holding a variable right after an ELF header: the header area an OVMF layout
  // gives ([0, 0xe000)) would cover it.
  fx::Nv nv;
  nv.vars = {fx::Var{}};
  fx::Bytes nv_after_elf = fx::concat({fx::filled(0x1000), fx::build_nv(nv), fx::code_image(0x1e0000, fx::Tail::xen_pvh)});
  fx::overlay_elf(nv_after_elf, fx::ElfSpec{.load_size = nv_after_elf.size(), .varstore_size = 0x1000});
  it::write_bytes(t.path("nv-after-elf.elf"), nv_after_elf);
  const std::vector<BadCase> cases = {
      {"NV volume inside the header area",
       {"IN", "-o", "OUT"},
       t.path("nv-after-elf.elf"),
       "FV[0] at 0x1000: nvstore volume inside [0x0, 0xe000), the area the ELF header and the erased variable store "
       "would replace: wrapping would destroy it"},
      {"load below 1 MiB",
       {"IN", "-o", "OUT", "--load-address", "0x80000"},
       "xen-pvh-2m",
       "offset 0x0: load address 0x80000 is below 1 MiB (0x100000)"},
      {"unaligned load",
       {"IN", "-o", "OUT", "--load-address", "0x100100"},
       "xen-pvh-2m",
       "offset 0x0: load address 0x100100 is not 4 KiB aligned"},
      {"MMIO hole",
       {"IN", "-o", "OUT", "--load-address", "0xfbf00000"},
       "xen-pvh-2m",
       "offset 0x0: the image would end at 0xfc100000, inside the MMIO hole libxl gives PVH guests (from 0xfc000000); stock Xen 4.17 "
       "cannot load it there (--allow-mmio-hole writes it anyway: pvhboot populates that window)"},
      {"above 4 GiB",
       {"IN", "-o", "OUT", "--load-address", "0xfff00000", "--allow-mmio-hole"},
       "xen-pvh-2m",
       "offset 0x0: load address 0xfff00000 + image size 0x200000 ends above 4 GiB"},
      {"HVM above 4 GiB",
       {"IN", "-o", "OUT", "--target", "hvm", "--load-address", "0xfff00000"},
       "stock-2m",
       "offset 0x0: load address 0xfff00000 + image size 0x200000 ends above 4 GiB"},
      {"truncated ELF",
       {"IN", "-o", "OUT"},
       t.path("trunc.elf"),
       "ELF header at 0x0: truncated: ELF32 header (0x34 bytes) runs past end of data at 0x14"},
      {"wrong machine",
       {"IN", "-o", "OUT"},
       t.path("arm.elf"),
       "ELF header at 0x12: e_machine 0x28 is not EM_386 (0x3) or EM_X86_64 (0x3e)"},
      {"FvLength past end",
       {"IN", "-o", "OUT"},
       t.path("fvlen.fd"),
       "FV[1] at 0x20000: FvLength 0x7fffffff runs past end of image (0x200000)"},
      {"no PVH entry",
       {"IN", "-o", "OUT"},
       t.path("none.fd"),
       "reset-vector at 0x1dffd0: no PVH entry found: no OVMF GUIDed table, and no \"VTF\\0\" at end-0x14 (no reset vector at "
       "all); build OvmfXen (scripts/build-ovmfxen.sh), or give the entry with --entry-offset if you know it"},
      {"entry offset outside",
       {"IN", "-o", "OUT", "--entry-offset", "0x200000"},
       "xen-pvh-2m",
       "offset 0x0: --entry-offset 0x200000 is outside the image (0x200000 bytes) or in its last 16 bytes"},
      {"CODE not whole blocks",
       {"IN", "-o", "OUT"},
       t.path("odd.fd"),
       "offset 0x1e0001: CODE-only image size 0x1e0001 is not a whole number of 4 KiB flash blocks: cannot put a region in front of it"},
      {"VARS as input", {"IN", "-o", "OUT"}, "vars-2m", "offset 0x0: no code volume: this is a VARS file, not a firmware image"},
      {"--vars with a full image",
       {"IN", "-o", "OUT", "--vars", "/usr/share/OVMF/OVMF_VARS.fd"},
       "xen-pvh-2m",
       "offset 0x0: --vars is for CODE-only images, but this image already has an NV region"},
      {"--vars not a VARS file",
       {"IN", "-o", "OUT", "--vars", "/usr/share/OVMF/OVMF_CODE.fd"},
       "code-xen-pvh-2m",
       "='/usr/share/OVMF/OVMF_CODE.fd': offset 0x0: not a VARS file: expected exactly one NV volume of an OVMF layout (0x20000 or "
       "0x84000)"},
      {"--save-vars without a store",
       {"IN", "-o", "OUT", "--save-vars", "OUT.vars"},
       "edk2-elf-2m",
       "there is no variable store to save (--save-vars)"},
      {"missing input", {"IN", "-o", "OUT"}, t.path("missing.fd"), "cannot open: No such file or directory"},
      {"input is a directory", {"IN", "-o", "OUT"}, t.path("adir"), "not a regular file (a directory)"},
      {"read-only output directory",
       {"IN", "-o", "/proc/elfwrap-out.elf"},
       "xen-pvh-2m",
       "='/proc/elfwrap-out.elf': cannot create a temporary file in '/proc': No such file or directory"},
      {"missing output directory",
       {"IN", "-o", "NODIR/out.elf"},
       "xen-pvh-2m",
       "='NODIR/out.elf': cannot open the directory 'NODIR': No such file or directory"},
      {"malformed number", {"IN", "-o", "OUT", "--load-address", "12zz"}, "xen-pvh-2m", "", 2},
      {"bad ELF class", {"IN", "-o", "OUT", "--elf-class", "16"}, "xen-pvh-2m", "", 2},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    it::TempDir w;
    const std::string in = c.input_kind.find('/') != std::string::npos ? c.input_kind : it::fixture(w, c.input_kind);
    const std::string out = w.path("out.elf");
    const bool in_exists = it::exists(in) && !std::filesystem::is_directory(in);
    const fx::Bytes before = in_exists ? it::read_bytes(in) : fx::Bytes{};
    const size_t entries = it::count_entries(w.dir().string());
    std::vector<std::string> argv = {it::elfwrap_bin()};
    for (const auto& a : c.args) argv.push_back(replace_all(replace_all(replace_all(a, "IN", in), "NODIR", w.path("nodir")), "OUT", out));
    const auto r = run(argv);
    CHECK(r.status == c.status);
    if (c.status == 1) {
      const std::string want = c.error.rfind("=", 0) == 0
                                   ? "elfwrap: error: " + replace_all(c.error.substr(1), "NODIR", w.path("nodir")) + "\n"
                                   : "elfwrap: error: '" + in + "': " + c.error + "\n";
      CHECK(errors_of(r.err) == want);  // the image's warnings may come first
    }
    CHECK(r.out.empty());
    CHECK(it::count_entries(w.dir().string()) == entries);  // no output, no temp file
    if (in_exists) CHECK(it::read_bytes(in) == before);
  }
}
