// The emulated flash (pflash/cfi.hpp) against the command sequences OVMF's QemuFlash driver
// issues, and the VARS file behind it (pflash/store.hpp): plan, lock, write-through.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "elfwrap/nv_template.hpp"
#include "pflash/cfi.hpp"
#include "pflash/store.hpp"
#include "tests/unit/helpers.hpp"

using pflash::CfiFlash;

namespace {

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 3);
  return v;
}

std::vector<uint8_t> blank_vars(const elfwrap::NvLayout& l) {
  const auto b = elfwrap::blank_nv_region(l);
  std::vector<uint8_t> v(b.size());
  for (size_t i = 0; i < b.size(); ++i) v[i] = static_cast<uint8_t>(b[i]);
  return v;
}

fx::Bytes as_bytes(const std::vector<uint8_t>& v) {
  fx::Bytes b;
  for (uint8_t x : v) b.push_back(std::byte{x});
  return b;
}

std::string temp_file(const std::vector<uint8_t>& content) {
  char name[] = "/tmp/elfwrap-pflash-XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  close(fd);
  return name;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), {});
}

}  // namespace

TEST_CASE("read array: the contents, little-endian at every access size; outside the flash all ones") {
  CfiFlash f(pattern(0x2000), 0x1000);
  CHECK(f.in_read_array());
  CHECK(f.read(0, 1) == 3);
  CHECK(f.read(1, 2) == (uint64_t{17} << 8 | 10));
  CHECK(f.read(0x10, 4) == (uint64_t{pattern(0x2000)[0x13]} << 24 | uint64_t{pattern(0x2000)[0x12]} << 16 |
                            uint64_t{pattern(0x2000)[0x11]} << 8 | pattern(0x2000)[0x10]));
  CHECK(f.read(0x2000, 1) == 0xff);
  CHECK(f.read(0x1ffc, 8) == ~uint64_t{0});  // runs past the end
  CHECK(f.read(0, 3) == 0xffffff);           // no such access size
  CHECK(f.read(~uint64_t{0} - 1, 4) == 0xffffffff);
}

TEST_CASE("QemuFlash's probe: 0x50 leaves reads unchanged, 0x70 then reads status 0, a program sets no error bit") {
  // OvmfPkg/QemuFlashFvbServicesRuntimeDxe/QemuFlash.c, QemuFlashDetected().
  const auto contents = pattern(0x1000);
  CfiFlash f(contents, 0x1000);
  const uint64_t original = f.read(0, 1);
  CHECK_FALSE(f.write(0, 1, 0x50));
  CHECK(f.read(0, 1) == original);  // not RAM: the 0x50 did not land
  CHECK_FALSE(f.write(0, 1, 0x70));
  CHECK(f.read(0, 1) == 0x00);  // status after clear status
  CHECK_FALSE(f.write(0, 1, 0xff));
  CHECK(f.read(0, 1) == original);
  // A program, then the status: ready, no program error.
  CHECK_FALSE(f.write(0x10, 1, 0x10));
  const auto c = f.write(0x10, 1, 0x5a);
  REQUIRE(c);
  CHECK(c->offset == 0x10);
  CHECK(c->length == 1);
  CHECK((f.read(0x10, 1) & 0x10) == 0);  // still in program mode: reads give status
  CHECK((f.read(0x10, 1) & 0x80) == 0x80);
  CHECK_FALSE(f.write(0, 1, 0xff));
  CHECK(f.read(0x10, 1) == 0x5a);
  CHECK(f.stats().programs == 1);
}

TEST_CASE("program writes the data (as QEMU does, not ANDed) at any access size and reports exactly that range") {
  CfiFlash f(std::vector<uint8_t>(0x1000, 0x00), 0x1000);
  f.write(0x100, 4, 0x40);
  const auto c = f.write(0x100, 4, 0x11223344);
  REQUIRE(c);
  CHECK(c->offset == 0x100);
  CHECK(c->length == 4);
  f.write(0, 1, 0xff);
  CHECK(f.read(0x100, 4) == 0x11223344);
  CHECK(f.contents()[0x100] == 0x44);
  CHECK(f.contents()[0x103] == 0x11);
}

TEST_CASE("block erase happens at the confirm, on the whole block of the confirm's address") {
  CfiFlash f(std::vector<uint8_t>(0x3000, 0x00), 0x1000);
  CHECK_FALSE(f.write(0x1800, 1, 0x20));
  CHECK(f.contents()[0x1000] == 0x00);  // a guest stopped between the cycles has lost nothing
  const auto c = f.write(0x1804, 1, 0xd0);
  REQUIRE(c);
  CHECK(c->offset == 0x1000);
  CHECK(c->length == 0x1000);
  CHECK(f.contents()[0x0fff] == 0x00);
  CHECK(f.contents()[0x1000] == 0xff);
  CHECK(f.contents()[0x1fff] == 0xff);
  CHECK(f.contents()[0x2000] == 0x00);
  CHECK(f.stats().erases == 1);
  // Cancelled with read array: nothing erased, no error.
  f.write(0x2000, 1, 0x20);
  CHECK_FALSE(f.write(0x2000, 1, 0xff));
  CHECK(f.contents()[0x2000] == 0x00);
  CHECK(f.in_read_array());
  // Any other second cycle: an erase error, back to read array, nothing erased.
  f.write(0x2000, 1, 0x50);
  f.write(0x2000, 1, 0x20);
  CHECK_FALSE(f.write(0x2000, 1, 0x42));
  CHECK((f.status() & 0x20) == 0x20);
  CHECK(f.contents()[0x2000] == 0x00);
  CHECK(f.in_read_array());
}

TEST_CASE("unknown commands set both error bits and return to read array; clear status clears them") {
  CfiFlash f(pattern(0x1000), 0x1000);
  CHECK_FALSE(f.write(4, 1, 0x12));
  CHECK((f.status() & 0x30) == 0x30);
  CHECK(f.in_read_array());
  CHECK(f.read(4, 1) == pattern(0x1000)[4]);
  f.write(0, 1, 0x70);
  CHECK((f.read(0, 4) & 0xff) == f.status());
  CHECK(f.read(0, 4) == (uint64_t{f.status()} | uint64_t{f.status()} << 16));  // QEMU's wide status read
  f.write(0, 1, 0x50);
  CHECK(f.status() == 0);
  CHECK(f.stats().errors == 1);
}

TEST_CASE("device ID, and block (un)lock accepted without effect") {
  CfiFlash f(pattern(0x2000), 0x1000);
  f.write(0, 1, 0x90);
  CHECK(f.read(0, 1) == 0x89);
  CHECK(f.read(1, 1) == 0x18);
  f.write(0, 1, 0xff);
  CHECK_FALSE(f.write(0x1000, 1, 0x60));
  CHECK_FALSE(f.write(0x1000, 1, 0xd0));
  CHECK((f.read(0x1000, 1) & 0x80) == 0x80);  // as QEMU: reads give the status until read array
  f.write(0x1000, 1, 0xff);
  CHECK(f.read(0x1000, 1) == pattern(0x2000)[0x1000]);
}

TEST_CASE("writes outside the flash change nothing and do not start a command") {
  CfiFlash f(std::vector<uint8_t>(0x1000, 0), 0x1000);
  CHECK_FALSE(f.write(0x1000, 1, 0x10));
  CHECK(f.in_read_array());
  f.write(0xffc, 1, 0x10);
  CHECK_FALSE(f.write(0xffc, 8, 0x1122334455667788));  // the data runs past the end: ignored
  CHECK(f.contents()[0xffc] == 0);
  const auto c = f.write(0xffc, 4, 0xaabbccdd);  // still waiting for its data
  REQUIRE(c);
  CHECK(f.contents()[0xfff] == 0xaa);
}

TEST_CASE("a block size that is no power of two falls back to 4 KiB") {
  CfiFlash f(std::vector<uint8_t>(0x2000, 0), 0x1800);
  f.write(0x1234, 1, 0x20);
  const auto c = f.write(0x1234, 1, 0xd0);
  REQUIRE(c);
  CHECK(c->offset == 0x1000);
  CHECK(c->length == 0x1000);
}

TEST_CASE("sync points: none inside QemuFlashWrite's byte programs, one before anything that shows the guest they finished") {
  CfiFlash f(std::vector<uint8_t>(0x2000, 0xff), 0x1000);
  using pflash::sync_before_completing;
  CHECK(sync_before_completing(true, f));  // a read always
  // QemuFlashWrite of 3 bytes at 0x100: 0x10, DATA per byte, then read array at the last byte.
  for (uint64_t a = 0x100; a < 0x103; ++a) {
    CHECK_FALSE(f.write(a, 1, 0x10));
    CHECK_FALSE(sync_before_completing(false, f));  // the program command
    REQUIRE(f.write(a, 1, 0x5a));
    CHECK_FALSE(sync_before_completing(false, f));  // its data: the guest cannot see it finish yet
    CHECK(sync_before_completing(true, f));         // ... unless it reads the status
  }
  CHECK_FALSE(f.write(0x102, 1, 0xff));
  CHECK(sync_before_completing(false, f));  // read array: QemuFlashWrite returns after this
  // An erase is durable at its confirm, before any program after it.
  CHECK_FALSE(f.write(0x1000, 1, 0x20));
  CHECK(sync_before_completing(false, f));
  REQUIRE(f.write(0x1000, 1, 0xd0));
  CHECK(sync_before_completing(false, f));
  // Status and clear-status commands end a program sequence too.
  f.write(0x100, 1, 0x10);
  f.write(0x100, 1, 0x00);
  f.write(0x100, 1, 0x70);
  CHECK(sync_before_completing(false, f));
  f.write(0x100, 1, 0x50);
  CHECK(sync_before_completing(false, f));
}

TEST_CASE("plan_store: a VARS file of either layout, where it goes, and what is refused") {
  const auto v2 = as_bytes(blank_vars(elfwrap::kLayout2M));
  auto p = pflash::plan_store(parse_ok(v2), nullptr, 0xffe00000);
  REQUIRE(p);
  CHECK(p->base == 0xffe00000);
  CHECK(p->size == 0x20000);
  CHECK(p->layout == &elfwrap::kLayout2M);
  const auto v4 = as_bytes(blank_vars(elfwrap::kLayout4M));
  p = pflash::plan_store(parse_ok(v4), nullptr, 0xffc00000);
  REQUIRE(p);
  CHECK(p->size == 0x84000);
  // No firmware and no address; misaligned; outside the hole; over the special pages.
  CHECK_FALSE(pflash::plan_store(parse_ok(v2), nullptr, std::nullopt));
  CHECK_FALSE(pflash::plan_store(parse_ok(v2), nullptr, 0xffe00800));
  CHECK_FALSE(pflash::plan_store(parse_ok(v2), nullptr, 0x80000000));
  CHECK_FALSE(pflash::plan_store(parse_ok(v2), nullptr, 0xfffff000));
  auto e = pflash::plan_store(parse_ok(v2), nullptr, 0xfefe0000);
  REQUIRE_FALSE(e);
  CHECK(elfwrap::to_string(e.error()).find("special pages") != std::string::npos);
  // Not a VARS file: a CODE image.
  e = pflash::plan_store(parse_ok(fx::code_image(0x1e0000, fx::Tail::xen_pvh)), nullptr, 0xffe00000);
  REQUIRE_FALSE(e);
  CHECK(elfwrap::to_string(e.error()).find("not a VARS file") != std::string::npos);
}

TEST_CASE("VarsFile: one holder at a time, writes reach the file, bad paths and changes refused") {
  auto content = blank_vars(elfwrap::kLayout2M);
  const std::string path = temp_file(content);
  {
    auto f = pflash::VarsFile::open(path, 0);
    REQUIRE(f);
    CHECK(f->bytes() == content);
    auto second = pflash::VarsFile::open(path, 0.1);
    REQUIRE_FALSE(second);
    CHECK(elfwrap::to_string(second.error()).find("in use") != std::string::npos);
    CHECK(elfwrap::to_string(second.error()).find(path) != std::string::npos);
    content[0x5000] = 0x12;
    content[0x5001] = 0x34;
    CHECK_FALSE(f->unsynced());
    REQUIRE(f->sync());  // nothing written: no sync
    CHECK(f->syncs() == 0);
    REQUIRE(f->write(pflash::Change{0x5000, 2}, content));
    CHECK(file_bytes(path) == content);  // in the file at once (a killed emulator loses nothing)
    CHECK(f->unsynced());
    REQUIRE(f->write(pflash::Change{0x6000, 1}, content));
    REQUIRE(f->sync());
    CHECK_FALSE(f->unsynced());
    CHECK(f->syncs() == 1);  // one sync for both writes
    REQUIRE(f->sync());
    CHECK(f->syncs() == 1);
    CHECK_FALSE(f->write(pflash::Change{0x1ffff, 2}, content));
    CHECK_FALSE(f->write(pflash::Change{~uint64_t{0}, 2}, content));
  }
  CHECK(pflash::VarsFile::open(path, 0));  // the lock went with the holder
  std::filesystem::remove(path);
  auto missing = pflash::VarsFile::open(path, 0);
  REQUIRE_FALSE(missing);
  CHECK(elfwrap::to_string(missing.error()).find("cannot open") != std::string::npos);
  CHECK_FALSE(pflash::VarsFile::open("/tmp", 0));  // not a regular file
}
