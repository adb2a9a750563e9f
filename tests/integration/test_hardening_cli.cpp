// Regression tests for the defects found by trying to break elfwrap and pvhboot as a hostile or
// unlucky user would (the CLI side): each names the defect it covers.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <nlohmann/json.hpp>

#include "tests/integration/run.hpp"

using it::run;

namespace {

std::string ew() { return it::elfwrap_bin(); }

mode_t mode_of(const std::string& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

// Runs a command line through sh (for umask).
it::Result sh(const std::string& cmd) { return run({"sh", "-c", cmd}); }

// The file names in a directory.
std::vector<std::string> names(const std::string& dir) {
  std::vector<std::string> n;
  for (const auto& e : std::filesystem::directory_iterator(dir)) n.push_back(e.path().filename().string());
  std::sort(n.begin(), n.end());
  return n;
}

}  // namespace

TEST_CASE("defect 1: wrap, unwrap and verify refuse an ELF header whose program headers run into a volume") {
  it::TempDir t;
  fx::Nv nv;
  nv.vars = {fx::Var{}};
  fx::Bytes b = fx::concat({fx::filled(0x1000), fx::build_nv(nv), fx::code_image(0x1e0000, fx::Tail::xen_pvh)});
  fx::overlay_elf(b, fx::ElfSpec{.load_size = b.size(), .phoff_override = 0xfd0, .phnum_override = 3, .varstore_size = 0x1000});
  const std::string in = t.path("hidden.elf");
  it::write_bytes(in, b);
  const std::string msg = "elfwrap: error: '" + in +
                          "': FV[0] at 0x1000: volume inside the ELF header's area [0x0, 0x1030) (ELF header, program headers, "
                          "notes): the header and the volume overlap\n";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{in, "-o", t.path("o.elf")}, {"unwrap", in, "-o", t.path("o.fd")}, {"verify", in}}) {
    std::vector<std::string> argv = {ew()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run(argv);
    CAPTURE(args[0]);
    CHECK(r.status == 1);
    CHECK(r.err == msg);
  }
  CHECK(names(t.dir().string()) == std::vector<std::string>{"hidden.elf"});
  CHECK(it::read_bytes(in) == b);
}

TEST_CASE("defect 2: --save-vars may not be the output or the input, whatever the spelling") {
  it::TempDir t;
  const std::string in = it::fixture(t, "xen-pvh-2m-with-var");
  const fx::Bytes before = it::read_bytes(in);
  std::filesystem::create_directory(t.path("d"));
  auto r = run({ew(), in, "-o", t.path("d/x.elf"), "--save-vars", t.path("d/./x.elf")});
  CHECK(r.status == 1);
  CHECK(r.err == "elfwrap: error: '" + t.path("d/x.elf") + "': names the same file as the output '" + t.path("d/./x.elf") +
                     "': each output needs a file of its own\n");
  CHECK(names(t.path("d")).empty());
  r = run({ew(), in, "-o", t.path("o.elf"), "--save-vars", t.path("d/../") + std::filesystem::path(in).filename().string()});
  CHECK(r.status == 1);
  CHECK(r.err.find("--save-vars names the input '" + in + "': saving the variables there would replace it\n") != std::string::npos);
  CHECK(it::read_bytes(in) == before);
  CHECK_FALSE(it::exists(t.path("o.elf")));
  // Through a symbolic link too.
  ::symlink(in.c_str(), t.path("link.fd").c_str());
  r = run({ew(), in, "-o", t.path("o.elf"), "--save-vars", t.path("link.fd")});
  CHECK(r.status == 1);
  CHECK(it::read_bytes(in) == before);
}

TEST_CASE("defect 3: the outputs of one command are all written, or none") {
  it::TempDir t;
  const std::string in = it::fixture(t, "xen-pvh-2m-with-var"), vars = t.path("vars.fd");
  it::write_bytes(vars, fx::text("an older VARS file the user keeps"));
  const fx::Bytes old_vars = it::read_bytes(vars);
  std::filesystem::create_directory(t.path("adir"));
  auto r = run({ew(), in, "-o", t.path("adir"), "--save-vars", vars});
  CHECK(r.status == 1);
  CHECK(r.err == "elfwrap: error: '" + t.path("adir") +
                     "': not a regular file (a directory): outputs are replaced atomically, which would destroy it; give a "
                     "regular file\n");
  CHECK(it::read_bytes(vars) == old_vars);
  // A failure while the outputs are being moved into place: -o becomes a directory after both
  // are staged; the --save-vars file already moved is put back as it was.
  it::Child c({ew(), in, "-o", t.path("late.elf"), "--save-vars", vars}, {"ELFWRAP_TEST_STOP_BEFORE_COMMIT=1"});
  REQUIRE(c.wait_stopped(30));
  std::filesystem::create_directory(t.path("late.elf"));
  ::kill(c.pid, SIGCONT);
  CHECK(c.finish() == 1);
  CHECK(c.err().find("'" + t.path("late.elf") + "': cannot move the temporary file into place: Is a directory") != std::string::npos);
  CHECK(it::read_bytes(vars) == old_vars);
  CHECK(names(t.dir().string()) == std::vector<std::string>{"adir", "late.elf", "vars.fd", "xen-pvh-2m-with-var.img"});
}

TEST_CASE("defect 4: device nodes and FIFOs are never replaced by an output") {
  it::TempDir t;
  const std::string in = it::fixture(t, "xen-pvh-2m-with-var");
  ::mkfifo(t.path("fifo").c_str(), 0644);
  const bool root = ::geteuid() == 0;
  if (root) ::mknod(t.path("null").c_str(), S_IFCHR | 0666, makedev(1, 3));
  const std::vector<std::vector<std::string>> writers = {{in, "-o", "NODE", "--force"},
                                                         {in, "-o", t.path("o.elf"), "--save-vars", "NODE"},
                                                         {"unwrap", "WRAPPED", "-o", "NODE"},
                                                         {"vars", "extract", in, "-o", "NODE"},
                                                         {"vars", "blank", "--layout", "0x20000", "-o", "NODE"}};
  REQUIRE(run({ew(), in, "-o", t.path("wrapped.elf"), "--force"}).status == 0);
  for (const std::string& node : {std::string("fifo"), std::string("null")}) {
    if (node == "null" && !root) continue;
    for (auto args : writers) {
      for (auto& a : args) {
        if (a == "NODE") a = t.path(node);
        if (a == "WRAPPED") a = t.path("wrapped.elf");
      }
      std::vector<std::string> argv = {ew()};
      argv.insert(argv.end(), args.begin(), args.end());
      const auto r = run(argv, 20);
      CAPTURE(args[1]);
      CAPTURE(node);
      CHECK(r.status == 1);
      CHECK(r.err.find("'" + t.path(node) + "': not a regular file (a " + (node == "fifo" ? "FIFO" : "character device") +
                       "): outputs are replaced atomically, which would destroy it; give a regular file\n") != std::string::npos);
      struct stat st {};
      REQUIRE(::lstat(t.path(node).c_str(), &st) == 0);
      CHECK((node == "fifo" ? S_ISFIFO(st.st_mode) : S_ISCHR(st.st_mode)));
    }
  }
  CHECK_FALSE(it::exists(t.path("o.elf")));
}

TEST_CASE("defect 5: new outputs follow the umask, replaced ones keep their mode") {
  it::TempDir t;
  const std::string in = it::fixture(t, "xen-pvh-2m-with-var");
  REQUIRE(sh("umask 077; exec " + ew() + " '" + in + "' -o '" + t.path("a.elf") + "' --save-vars '" + t.path("a.vars") + "'").status == 0);
  CHECK(mode_of(t.path("a.elf")) == 0600);
  CHECK(mode_of(t.path("a.vars")) == 0600);
  REQUIRE(sh("umask 022; exec " + ew() + " vars blank --layout 0x20000 -o '" + t.path("b.vars") + "'").status == 0);
  CHECK(mode_of(t.path("b.vars")) == 0644);
  ::chmod(t.path("b.vars").c_str(), 0600);
  ::chmod(t.path("a.elf").c_str(), 0640);
  REQUIRE(sh("umask 000; exec " + ew() + " vars blank --layout 0x20000 -o '" + t.path("b.vars") + "'").status == 0);
  REQUIRE(sh("umask 000; exec " + ew() + " '" + in + "' -o '" + t.path("a.elf") + "' --force").status == 0);
  CHECK(mode_of(t.path("b.vars")) == 0600);
  CHECK(mode_of(t.path("a.elf")) == 0640);
  // A symbolic link as the output: the file it points to is replaced, the link stays.
  ::symlink("b.vars", t.path("link.vars").c_str());
  REQUIRE(run({ew(), "vars", "blank", "--layout", "0x84000", "-o", t.path("link.vars")}).status == 0);
  CHECK(std::filesystem::is_symlink(t.path("link.vars")));
  CHECK(std::filesystem::file_size(t.path("b.vars")) == 0x84000);
}

TEST_CASE("defect 6: a killed wrap leaves no temporary file (SIGKILL, SIGTERM, SIGINT)") {
  for (int sig : {SIGKILL, SIGTERM, SIGINT}) {
    CAPTURE(sig);
    it::TempDir t;
    const std::string in = it::fixture(t, "xen-pvh-2m-with-var");
    it::Child c({ew(), in, "-o", t.path("out.elf"), "--save-vars", t.path("out.vars")}, {"ELFWRAP_TEST_STOP_BEFORE_COMMIT=1"});
    REQUIRE(c.wait_stopped(30));
    // Both outputs are complete here, and not one name is in the directory.
    CHECK(names(t.dir().string()) == std::vector<std::string>{"xen-pvh-2m-with-var.img"});
    ::kill(c.pid, sig);
    ::kill(c.pid, SIGCONT);
    CHECK(c.finish() == 128 + sig);
    CHECK(names(t.dir().string()) == std::vector<std::string>{"xen-pvh-2m-with-var.img"});
  }
}

TEST_CASE("defect 7: every command shows the image's warnings; wrap refuses to erase what the store's walk misses") {
  it::TempDir t;
  fx::Nv nv;
  nv.vars = {fx::Var{}};
  nv.store_size = 0x1c;
  fx::Bytes img = fx::ovmf_image(0x200000, fx::Tail::xen_pvh, &nv);
  fx::put16(img, 0x20000 + 0x32, 0x1234);  // FVMAIN's header checksum
  const std::string in = t.path("hidden.fd");
  it::write_bytes(in, img);
  const std::string warn = "elfwrap: warning: '" + in + "': FV[1] at 0x20032: header checksum 0x1234 is invalid\n";
  for (const std::vector<std::string>& args : {std::vector<std::string>{"verify", in, "--loader", "hvmloader"},
                                               {"vars", "list", in},
                                               {"inspect", in},
                                               {"compat", in, in},
                                               {in, "-o", t.path("o.elf")}}) {
    std::vector<std::string> argv = {ew()};
    argv.insert(argv.end(), args.begin(), args.end());
    CAPTURE(args[0]);
    CHECK(run(argv).err.find(warn) != std::string::npos);
  }
  const auto r = run({ew(), in, "-o", t.path("o.elf")});
  CHECK(r.status == 1);
  CHECK(r.err.find("'" + in + "': offset 0x64: ") != std::string::npos);
  CHECK(r.err.find("past the variables the store's walk reached (store Size 0x1c): wrapping would erase them") != std::string::npos);
  CHECK_FALSE(it::exists(t.path("o.elf")));
  REQUIRE(run({ew(), in, "-o", t.path("o.elf"), "--save-vars", t.path("o.vars")}).status == 0);
  CHECK(it::read_bytes(t.path("o.vars")) == fx::Bytes(img.begin(), img.begin() + 0x20000));
}

TEST_CASE("defect 8: wrap --vars and vars check refuse what does not fit") {
  it::TempDir t;
  const std::string code = it::fixture(t, "code-xen-pvh-2m"), v4 = it::fixture(t, "vars-4m"), v2 = it::fixture(t, "vars-2m");
  auto r = run({ew(), code, "-o", t.path("o.elf"), "--vars", v4});
  CHECK(r.status == 1);
  CHECK(r.err.find("elfwrap: error: '" + v4 + "': does not fit this CODE image (elfwrap vars check): layout mismatch") == 0);
  fx::Bytes trailing = it::read_bytes(v2);
  trailing.resize(trailing.size() + 0x1000, std::byte{0xff});
  it::write_bytes(t.path("trailing.fd"), trailing);
  r = run({ew(), code, "-o", t.path("o.elf"), "--vars", t.path("trailing.fd")});
  CHECK(r.status == 1);
  CHECK(r.err.find("the VARS file is 0x21000 bytes, not the layout's 0x20000") != std::string::npos);
  CHECK_FALSE(it::exists(t.path("o.elf")));
  r = run({ew(), "vars", "check", "/usr/share/OVMF/OVMF_VARS.fd", "/usr/share/OVMF/OVMF_VARS.fd"});
  CHECK(r.status == 1);
  CHECK(r.out.find("incompatible: the CODE image has no code volume (it is a VARS file, not firmware)") != std::string::npos);
  CHECK(run({ew(), "vars", "check", "/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"}).status == 0);
}

TEST_CASE("defect 9, 10, 11, 21: wrap refuses what cannot start") {
  it::TempDir t;
  const std::string pvh = it::fixture(t, "xen-pvh-2m");
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{it::fixture(t, "no-reset-vector-2m"), "--target", "hvm"}, "reset-vector at 0x1fffec: no reset vector at the end of the image"},
      {{pvh, "--entry-offset", "0"}, "offset 0x0: --entry-offset 0x0 is inside [0x0, 0xe000)"},
      {{pvh, "--entry-offset", "0x10000"}, "offset 0x10000: --entry-offset 0x10000 points at erased flash"},
      {{pvh, "--load-address", "0xfee00000", "--allow-mmio-hole"},
       "offset 0x0: the image [0xfee00000, 0xff000000) overlaps Xen's special pages [0xfeff8000, 0xff000000)"},
      {{it::fixture(t, "vtf-no-entry-2m")},
       "reset-vector at 0x1fffd0: no PVH entry found: no OVMF GUIDed table, and the bytes at end-0x30 are not XenResetVector's jump"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args[1 % c.args.size()]);
    std::vector<std::string> argv = {ew(), c.args[0], "-o", t.path("o.elf")};
    argv.insert(argv.end(), c.args.begin() + 1, c.args.end());
    const auto r = run(argv);
    CHECK(r.status == 1);
    CHECK(r.err.find("elfwrap: error: '" + c.args[0] + "': " + c.error) == 0);
    CHECK_FALSE(it::exists(t.path("o.elf")));
  }
}

TEST_CASE("defect 13: numbers are decimal or 0x, never octal; a negative number is a usage error") {
  it::TempDir t;
  const std::string pvh = it::fixture(t, "xen-pvh-2m");
  auto r = run({ew(), pvh, "-o", t.path("o.elf"), "--load-address", "04000000"});
  CHECK(r.status == 2);
  CHECK(r.err.find("'04000000' is not a number: give it in decimal without leading zeros, or as 0x... hexadecimal") != std::string::npos);
  CHECK(run({ew(), pvh, "-o", t.path("o.elf"), "--load-address", "16777216"}).status == 0);
  CHECK(run({ew(), pvh, "-o", t.path("o.elf"), "--load-address", "0x1000000"}).status == 0);
#ifdef PVHBOOT_BIN
  REQUIRE(run({ew(), pvh, "-o", t.path("p.elf")}).status == 0);
  for (const char* bad : {"0256", "-1", "256M", "0x"}) {
    CAPTURE(bad);
    r = run({PVHBOOT_BIN, "plan", t.path("p.elf"), "--memory", bad});
    CHECK(r.status == 2);
    CHECK(r.err.find(std::string("'") + bad + "' is not a number") != std::string::npos);
  }
  r = run({PVHBOOT_BIN, "plan", t.path("p.elf"), "--memory", "256", "--vcpus", "010"});
  CHECK(r.status == 2);
#endif
}

TEST_CASE("defect 14: a FIFO as any input is refused at once") {
  it::TempDir t;
  ::mkfifo(t.path("fifo").c_str(), 0644);
  const std::string code = it::fixture(t, "code-xen-pvh-2m");
  REQUIRE(run({ew(), it::fixture(t, "xen-pvh-2m"), "-o", t.path("p.elf")}).status == 0);
  std::vector<std::vector<std::string>> cmds = {{ew(), "inspect", t.path("fifo")},
                                                {ew(), code, "-o", t.path("o.elf"), "--vars", t.path("fifo")}};
#ifdef PVHBOOT_BIN
  cmds.push_back({PVHBOOT_BIN, "plan", t.path("fifo"), "--memory", "64"});
  cmds.push_back({PVHBOOT_BIN, "plan", t.path("p.elf"), "--memory", "64", "--module", t.path("fifo")});
#endif
  for (const auto& argv : cmds) {
    CAPTURE(argv[1]);
    const auto r = run(argv, 10);
    CHECK(r.status == 1);
    CHECK(r.err.find("'" + t.path("fifo") + "': not a regular file (a FIFO)") != std::string::npos);
  }
}

TEST_CASE("defect 15: names that are not UTF-8 never abort --json") {
  it::TempDir t;
  const std::string in = it::fixture(t, "xen-pvh-2m"), out = t.path("bad-\xff.elf");
  auto r = run({ew(), in, "-o", out, "--json"});
  CHECK(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["output"] == t.path("bad-\xef\xbf\xbd.elf"));
  r = run({ew(), "inspect", out, "--json"});
  CHECK(r.status == 0);
  CHECK(nlohmann::json::accept(r.out));
#ifdef PVHBOOT_BIN
  r = run({PVHBOOT_BIN, "plan", out, "--memory", "64", "--json"});
  CHECK(r.status == 0);
  CHECK(nlohmann::json::accept(r.out));
#endif
}

TEST_CASE("defect 17: vars list and extract work on an image damaged outside its NV store") {
  it::TempDir t;
  fx::Nv nv;
  nv.vars = {fx::Var{u"Keep"}};
  fx::Bytes img = fx::ovmf_image(0x200000, fx::Tail::stock, &nv);
  fx::put16(img, img.size() - 0x32, 0xffff);
  const std::string in = t.path("damaged.fd");
  it::write_bytes(in, img);
  CHECK(run({ew(), "inspect", in}).status == 1);
  auto r = run({ew(), "vars", "list", in});
  CHECK(r.status == 0);
  CHECK(r.out.find("  Keep  ") != std::string::npos);
  CHECK(r.err.find("warning: '" + in + "': reset-vector/guided-table at 0x1f6f00: rescue: reset vector not parsed") != std::string::npos);
  r = run({ew(), "vars", "extract", in, "-o", t.path("v.fd")});
  CHECK(r.status == 0);
  CHECK(it::read_bytes(t.path("v.fd")) == fx::Bytes(img.begin(), img.begin() + 0x20000));
}

TEST_CASE("defect 18: output names up to the file system's limit work") {
  it::TempDir t;
  const std::string in = it::fixture(t, "xen-pvh-2m-with-var");
  for (size_t len : {237u, 250u, 255u}) {
    const std::string out = t.path(std::string(len - 4, 'n') + ".elf"), vars = t.path(std::string(len - 5, 'v') + ".vars");
    CAPTURE(len);
    CHECK(run({ew(), in, "-o", out, "--save-vars", vars}).status == 0);
    CHECK(it::exists(out));
  }
}

TEST_CASE("defect 20: inspect prints each warning once, on stderr") {
  it::TempDir t;
  fx::Bytes img = fx::ovmf_image(0x200000, fx::Tail::xen_pvh);
  fx::put16(img, 0x20000 + 0x32, 0x1234);
  it::write_bytes(t.path("w.fd"), img);
  const auto r = run({ew(), "inspect", t.path("w.fd")});
  CHECK(r.status == 0);
  CHECK(r.out.find("header checksum 0x1234 is invalid") == std::string::npos);
  const std::string w = "header checksum 0x1234 is invalid";
  CHECK(r.err.find(w) != std::string::npos);
  CHECK(r.err.find(w) == r.err.rfind(w));
}

TEST_CASE("defect 16: inspect --json of an image of very many FFS files lists a bounded number and says so") {
  it::TempDir t;
  fx::Bytes img;
  for (int v = 0; v < 128; ++v) {  // 8 MiB of header-only files: about 350,000
    fx::Fv fv;
    fv.length = 0x10000;
    for (int i = 0; i < 2700; ++i) fv.files.push_back(fx::File{.data = {}});
    img = fx::concat({img, fx::build_fv(fv)});
  }
  it::write_bytes(t.path("many.fd"), img);
  const auto r = run({ew(), "inspect", t.path("many.fd"), "--json"});
  CHECK(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  size_t listed = 0, total = 0;
  for (const auto& fv : j["volumes"]) {
    listed += fv["files"].size() + fv["gaps"].size();
    total += fv["file_count"].get<size_t>();
  }
  CHECK(total == 128 * 2700);
  CHECK(listed == 8192);
  CHECK(r.err.find("the image has more FFS files and gaps than elfwrap lists (8192): ") != std::string::npos);
  CHECK(r.out.size() < 8u << 20);  // the JSON itself stays small
}

#ifdef PVHBOOT_BIN
TEST_CASE("defect 10, 12, 19: pvhboot plan refuses what run could not load or start") {
  it::TempDir t;
  auto kernel = [&](const std::string& name, const fx::Bytes& b) {
    it::write_bytes(t.path(name), b);
    return t.path(name);
  };
  const std::string at_header = kernel("hdr.elf", fx::elf_kernel({{0, 0x100000, 0x2000, 0x2000}}, 0x100010, 0x2000));
  const std::string in_gap =
      kernel("gap.elf", fx::elf_kernel({{0, 0x100000, 0x1000, 0x1000}, {0x1000, 0x200000, 0x1000, 0x1000}}, 0x180000, 0x2000));
  const std::string across = kernel("across.elf", fx::elf_kernel({{0, 0xfbf00000, 0x200000, 0x200000}}, 0xfbf01000, 0x200000));
  const std::string good = kernel("good.elf", fx::elf_kernel({{0, 0x100000, 0x2000, 0x2000}}, 0x101000, 0x2000));
  it::write_bytes(t.path("empty.bin"), {});
  {
    std::FILE* f = std::fopen(t.path("huge.bin").c_str(), "w");
    std::fclose(f);
  }
  REQUIRE(::truncate(t.path("huge.bin").c_str(), (1ll << 30) + 1) == 0);  // sparse
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{at_header, "--memory", "64"},
       "'" + at_header + "': PHYS32_ENTRY 0x100010 is at file offset 0x10, inside the ELF headers [0x0, 0xc4)"},
      {{in_gap, "--memory", "64"}, "'" + in_gap + "': PHYS32_ENTRY 0x180000 is not inside the file bytes of any PT_LOAD"},
      {{across, "--memory", "8192"}, "'" + across + "': image [0xfbf00000, 0xfc100000) crosses the start of the MMIO hole at 0xfc000000"},
      {{good, "--memory", "64", "--module", t.path("empty.bin")}, "'" + t.path("empty.bin") + "': module is empty"},
      {{good, "--memory", "64", "--module", t.path("huge.bin")},
       "'" + t.path("huge.bin") + "': module of 0x40000001 bytes is larger than libxenguest loads (1 GiB)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.error);
    std::vector<std::string> argv = {PVHBOOT_BIN, "plan"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = run(argv);
    CHECK(r.status == 1);
    CHECK(r.err.find("pvhboot: error: " + c.error) == 0);
  }
  CHECK(run({PVHBOOT_BIN, "plan", good, "--memory", "64"}).status == 0);
}
#endif
