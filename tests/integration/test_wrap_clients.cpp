// elfwrap wrap, checked by the real clients: QEMU 7.2 -kernel (TCG), libxenguest's own parse,
// Xen's readnotes, UEFIExtract, LIEF.
#include <doctest/doctest.h>

#include <LIEF/ELF.hpp>
#include <LIEF/logging.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "elfwrap/image.hpp"
#ifdef ELFWRAP_WITH_XEN
#include "xencheck/xen_parse.hpp"
#endif
#include "tests/integration/run.hpp"

using namespace elfwrap;
using it::run;

namespace {

constexpr int kQemuOk = (fx::kPvhOkCode << 1) | 1;  // isa-debug-exit status for the marker code

it::Result qemu_kernel(const std::string& elf) {
  return run(
      {"qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-nodefaults", "-display", "none", "-debugcon",
       "stdio", "-global", "isa-debugcon.iobase=0xe9", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", elf},
      30);
}

std::map<std::string, std::string> uefiextract_crcs(const std::string& image) {
  it::TempDir t;
  const std::string copy = t.path("image.fd");
  it::write_bytes(copy, it::read_bytes(image));
  REQUIRE(run({"UEFIExtract", copy, "report"}).status == 0);
  std::istringstream in(it::read_text(copy + ".report.txt"));
  std::map<std::string, std::string> crcs;  // "Volume@base/size" -> CRC32, top level volumes
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> c;
    std::stringstream ls(line);
    for (std::string s; std::getline(ls, s, '|');) c.push_back(s);
    if (c.size() >= 6 && c[0].find("Volume") != std::string::npos && c[5].find(" - ") == 0) crcs[c[2] + "/" + c[3]] = c[4];
  }
  return crcs;
}

void check_lief(const std::string& path, int cls, uint64_t load, uint64_t size, uint64_t entry) {
  LIEF::Logger::disable();
  auto bin = LIEF::ELF::Parser::parse(path);
  REQUIRE(bin);
  CHECK(bin->header().entrypoint() == entry);
  CHECK((bin->header().identity_class() == LIEF::ELF::ELF_CLASS::ELFCLASS64) == (cls == 64));
  REQUIRE(bin->segments().size() == 2);
  const auto& load_seg = bin->segments()[0];
  CHECK(load_seg.type() == LIEF::ELF::SEGMENT_TYPES::PT_LOAD);
  CHECK(load_seg.file_offset() == 0);
  CHECK(load_seg.physical_address() == load);
  CHECK(load_seg.virtual_address() == load);
  CHECK(load_seg.physical_size() == size);
  const auto& note_seg = bin->segments()[1];
  CHECK(note_seg.type() == LIEF::ELF::SEGMENT_TYPES::PT_NOTE);
  CHECK(note_seg.alignment() == 4);
  CHECK(note_seg.file_offset() != 0);
  const std::vector<uint8_t> c = note_seg.content();
  REQUIRE(c.size() == 20);
  CHECK(c[8] == 18);  // n_type PHYS32_ENTRY
  CHECK(std::string(c.begin() + 12, c.begin() + 15) == "Xen");
  CHECK((c[16] | c[17] << 8 | c[18] << 16 | uint32_t{c[19]} << 24) == entry);
}

}  // namespace

TEST_CASE("xen-pvh images of 1, 2 and 4 MiB, as ELF64 and ELF32: every client agrees") {
  for (const char* kind : {"xen-pvh-1m", "xen-pvh-2m", "xen-pvh-4m"}) {
    for (int cls : {64, 32}) {
      CAPTURE(kind);
      CAPTURE(cls);
      it::TempDir t;
      const std::string in = it::fixture(t, kind), out = t.path("out.elf");
      const fx::Bytes before = it::read_bytes(in);
      const uint64_t size = before.size(), load = 0x100000, entry = load + size - 0x30;
      REQUIRE(run({it::elfwrap_bin(), in, "-o", out, "--elf-class", std::to_string(cls)}).status == 0);
      CHECK(it::read_bytes(in) == before);  // input untouched
      // 1. QEMU runs the firmware's PVH entry, which checks the start_info magic.
      const auto q = qemu_kernel(out);
      CHECK(q.status == kQemuOk);
      CHECK(q.out.find("PVH-OK") != std::string::npos);
      CHECK(q.out.find(" mem=1\n") != std::string::npos);  // QEMU's memory map: the image is in RAM
#ifdef ELFWRAP_WITH_XEN
      // 2. libxenguest finds a PVH image whose kernel segment is exactly [load, load + size).
      const auto x = xencheck::xen_parse(it::read_bytes(out));
      REQUIRE(x);
      CHECK(x->rc == 0);
      CHECK(x->pvh);
      CHECK(x->seg_start == load);
      CHECK(x->seg_end == load + size);
      CHECK(x->phys32_entry == entry);
#endif
      // 3. readnotes.
      const auto n = run({"/usr/lib/xen-4.17/bin/readnotes", out});
      CHECK(n.out.find("PHYS32_ENTRY:   " + hex(entry) + " (4 bytes)") != std::string::npos);
      // 4. Every byte outside the variable-store area is identical; UEFIExtract agrees on the volumes.
      const fx::Bytes after = it::read_bytes(out);
      const uint64_t store_end = size >= 0x400000 ? 0x40000 : 0xe000;
      REQUIRE(after.size() == size);
      CHECK(std::equal(before.begin() + store_end, before.end(), after.begin() + store_end));
      for (uint64_t i = (cls == 64 ? 0xc4 : 0x88); i < store_end; ++i)
        if (after[i] != std::byte{0xff}) FAIL("variable-store area not erased at " << hex(i));
      auto crc_in = uefiextract_crcs(in), crc_out = uefiextract_crcs(out);
      crc_in.erase(" 00000000 / " + std::string(size >= 0x400000 ? "00084000" : "00020000") + " ");
      CHECK(crc_in.size() == 2);
      for (const auto& [k, v] : crc_in) CHECK(crc_out[k] == v);
      // 5. LIEF reads back the segments and the note.
      check_lief(out, cls, load, size, entry);
    }
  }
}

TEST_CASE("edk2's built-in header on a 4 MiB image: QEMU crashes on it; re-wrapped it boots") {
  it::TempDir t;
  const std::string edk2 = it::fixture(t, "edk2-elf-4m"), out = t.path("fixed.elf");
  CHECK(qemu_kernel(edk2).status == 128 + 8);  // SIGFPE: p_align 0
  const auto v = run({it::elfwrap_bin(), "verify", edk2});
  CHECK(v.status == 1);
  CHECK(v.out.find("PT_LOAD maps file bytes [0x0, 0x200000) of the 0x400000-byte image") != std::string::npos);
  CHECK(v.out.find("PVH entry 0x2fffd0 (file offset 0x1fffd0) points at erased flash") != std::string::npos);
  REQUIRE(run({it::elfwrap_bin(), edk2, "-o", out, "--elf-class", "32"}).status == 0);
  const auto q = qemu_kernel(out);
  CHECK(q.status == kQemuOk);
  CHECK(q.out.find("PVH-OK") != std::string::npos);
  CHECK(run({it::elfwrap_bin(), "verify", out, "--loader", "xen"}).status == 0);
  CHECK(run({it::elfwrap_bin(), "verify", out, "--loader", "qemu"}).status == 0);
  const auto j = nlohmann::json::parse(run({it::elfwrap_bin(), "inspect", out, "--json"}).out);
  CHECK(j["elf"]["segments"][0]["filesz"] == 0x400000);
  CHECK(j["elf"]["segments"][1]["align"] == 4);
  CHECK(j["elf"]["phys32_entry"] == 0x4fffd0);
  CHECK(j["nvstore"]["layout"] == "0x84000");
}

TEST_CASE("verify's QEMU rules agree with QEMU: p_align 8 picks a wrong entry, a PT_LOAD over the BIOS is refused") {
  it::TempDir t;
  const std::string in = it::fixture(t, "xen-pvh-1m"), align8 = t.path("align8.elf"), top = t.path("top.elf");
  REQUIRE(run({it::elfwrap_bin(), in, "-o", align8}).status == 0);
  fx::Bytes b = it::read_bytes(align8);
  fx::put64(b, 0x40 + 56 + 0x30, 8);  // PT_NOTE p_align 4 -> 8 (ELF64: phdr[1] at 0x78)
  it::write_bytes(align8, b);
  auto v = run({it::elfwrap_bin(), "verify", align8, "--loader", "qemu"});
  CHECK(v.status == 1);
  CHECK(v.out.find("has p_align 0x8: QEMU pads the note by p_align and reads the entry from the wrong place") != std::string::npos);
  auto q = qemu_kernel(align8);
  CHECK(q.out.find("PVH-OK") == std::string::npos);  // QEMU jumps elsewhere: the marker never comes
  CHECK(q.status != kQemuOk);
  REQUIRE(run({it::elfwrap_bin(), in, "-o", top, "--load-address", "0xfff00000", "--allow-mmio-hole"}).status == 0);
  v = run({it::elfwrap_bin(), "verify", top, "--loader", "qemu"});
  CHECK(v.status == 1);
  CHECK(v.out.find("overlaps the BIOS ROM QEMU maps at 0xfffc0000-4 GiB: QEMU refuses to start") != std::string::npos);
  q = qemu_kernel(top);
  CHECK(q.status == 1);  // QEMU's own error exit, before running anything
  CHECK(q.err.find("overlap") != std::string::npos);
  CHECK(run({it::elfwrap_bin(), "verify", top, "--loader", "xen"}).status == 1);  // and stock libxc cannot place it
}

TEST_CASE("Debian's stock OVMF.fd: refused for PVH, wrapped for HVM ending at 4 GiB") {
  it::TempDir t;
  const std::string ovmf = "/usr/share/ovmf/OVMF.fd", out = t.path("hvm.elf");
  auto r = run({it::elfwrap_bin(), ovmf, "-o", t.path("pvh.elf")});
  CHECK(r.status == 1);
  CHECK(r.err == "elfwrap: error: '" + ovmf +
                     "': reset-vector at 0x1fffd0: this is OVMF's stock reset vector "
                     "(OvmfPkg/ResetVector, with the OVMF GUIDed table): it has no 32-bit PVH entry, so the image cannot "
                     "boot as a PVH guest; build OvmfXen (scripts/build-ovmfxen.sh), or wrap for HVM with --target hvm\n");
  CHECK_FALSE(it::exists(t.path("pvh.elf")));
  REQUIRE(run({it::elfwrap_bin(), ovmf, "-o", out, "--target", "hvm"}).status == 0);
  CHECK(run({it::elfwrap_bin(), "verify", out, "--loader", "hvmloader"}).status == 0);
  const auto j = nlohmann::json::parse(run({it::elfwrap_bin(), "inspect", out, "--json"}).out);
  CHECK(j["elf"]["entry"] == 0xfffffff0u);
  REQUIRE(j["elf"]["segments"].size() == 1);  // no PT_NOTE: no Xen notes for hvmloader
  CHECK(j["elf"]["segments"][0]["paddr"] == 0xffe00000u);
  CHECK(j["elf"]["segments"][0]["filesz"] == 0x200000);
  CHECK(j["elf"]["notes"].empty());
  const fx::Bytes a = it::read_bytes(ovmf), b = it::read_bytes(out);
  CHECK(std::equal(a.begin() + 0xe000, a.end(), b.begin() + 0xe000));
  // The PVH loaders say why they would not take it.
  CHECK(run({it::elfwrap_bin(), "verify", out, "--loader", "xen"}).status == 1);
  // A CODE image that is not a whole number of MiB gets a warning for HVM... after the prefix it is whole.
  const auto code = run({it::elfwrap_bin(), "/usr/share/OVMF/OVMF_CODE_4M.fd", "-o", t.path("c.elf"), "--target", "hvm"});
  CHECK(code.status == 0);
  CHECK(code.err.empty());
  CHECK(it::read_bytes(t.path("c.elf")).size() == 0x400000);
}

TEST_CASE("verify --loader hvmloader: a raw image that is not whole MiB misses the reset vector on stock hvmloader") {
  // The real-Xen jobs hvm-code-3.5m-stock (the guest dies) and hvm-code-3.5m (our hvmloader
  // patch: boots) run this very file; the harness' host check verify-hvmloader repeats this call.
  const auto r = run({it::elfwrap_bin(), "verify", "/usr/share/OVMF/OVMF_CODE_4M.fd", "--loader", "hvmloader"});
  CHECK(r.status == 1);
  CHECK(r.out.find("problem: size 0x37c000 is not a whole number of MiB: hvmloader copies it to 4 GiB - 0x400000, so it "
                   "does not end at 4 GiB and the reset vector is missed") != std::string::npos);
  CHECK(r.out.find("hvmloader with our patch (xen-patches/xen-4.17/0003) ends an image of any size at 4 GiB") != std::string::npos);
}
