// pvhboot's ACPI tables (loader/acpi.hpp): what a guest's OS reads of them, checked byte by byte
// the way an OS walks them (RSDP -> XSDT/RSDT -> tables), and the plan's use of them.
#include <doctest/doctest.h>

#include <cstring>
#include <map>

#include "loader/acpi.hpp"
#include "loader/boot_plan.hpp"
#include "tests/fixture/builder.hpp"

using namespace loader;

namespace {

// Guest physical memory as the modules fill it.
struct Memory {
  std::map<uint64_t, std::byte> bytes;
  explicit Memory(const AcpiLayout& L) {
    for (const auto& m : L.modules)
      for (size_t i = 0; i < m.bytes.size(); ++i) {
        REQUIRE(bytes.count(m.address + i) == 0);  // modules never overlap
        bytes[m.address + i] = m.bytes[i];
      }
  }
  uint8_t u8(uint64_t a) const {
    auto it = bytes.find(a);
    REQUIRE(it != bytes.end());
    return std::to_integer<uint8_t>(it->second);
  }
  uint64_t le(uint64_t a, int n) const {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t{u8(a + i)} << (8 * i);
    return v;
  }
  std::string text(uint64_t a, size_t n) const {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += static_cast<char>(u8(a + i));
    return s;
  }
  uint8_t sum(uint64_t a, uint64_t n) const {
    uint8_t s = 0;
    for (uint64_t i = 0; i < n; ++i) s = static_cast<uint8_t>(s + u8(a + i));
    return s;
  }
};

// Every table the XSDT lists, by signature, with its checksum checked.
std::map<std::string, uint64_t> walk(const Memory& m, uint64_t rsdp) {
  CHECK(m.text(rsdp, 8) == "RSD PTR ");
  CHECK(m.u8(rsdp + 15) == 2);
  CHECK(m.sum(rsdp, 20) == 0);
  CHECK(m.sum(rsdp, 36) == 0);
  const uint64_t xsdt = m.le(rsdp + 24, 8), rsdt = m.le(rsdp + 16, 4);
  CHECK(m.text(xsdt, 4) == "XSDT");
  CHECK(m.text(rsdt, 4) == "RSDT");
  const uint64_t xlen = m.le(xsdt + 4, 4), rlen = m.le(rsdt + 4, 4);
  CHECK(m.sum(xsdt, xlen) == 0);
  CHECK(m.sum(rsdt, rlen) == 0);
  REQUIRE((xlen - 36) / 8 == (rlen - 36) / 4);
  std::map<std::string, uint64_t> t;
  for (uint64_t i = 0; i < (xlen - 36) / 8; ++i) {
    const uint64_t at = m.le(xsdt + 36 + 8 * i, 8);
    CHECK(m.le(rsdt + 36 + 4 * i, 4) == at);  // the RSDT lists the same tables
    const std::string sig = m.text(at, 4);
    CHECK(m.sum(at, m.le(at + 4, 4)) == 0);
    t[sig] = at;
  }
  return t;
}

}  // namespace

TEST_CASE("ACPI: RSDP -> XSDT -> FADT, MADT; FADT -> DSDT, FACS; every checksum; libxl's addresses") {
  auto L = make_acpi(AcpiConfig{3, std::nullopt});
  REQUIRE(L);
  CHECK(L->start == 0xfc000000);
  CHECK(L->modules.size() == 3);
  CHECK(L->modules[0].what == "RSDP");
  CHECK(L->modules[1].address == 0xfc000000);
  CHECK(L->modules[2].address == 0xfc001000);                            // the tables start on the page after the information page
  CHECK(L->rsdp == L->modules[2].address + L->modules[2].bytes.size());  // the RSDP on the page after them
  CHECK(L->end == L->rsdp + 0x1000);
  CHECK_FALSE(L->generation_id_address);
  REQUIRE(L->ranges.size() == 1);
  CHECK(L->ranges[0].addr == 0xfc000000);
  CHECK(L->ranges[0].size == L->end - L->start);
  CHECK_FALSE(L->ranges[0].reserved);
  const Memory m(*L);
  auto t = walk(m, L->rsdp);
  CHECK(t.size() == 2);
  REQUIRE(t.count("FACP"));
  REQUIRE(t.count("APIC"));
  const uint64_t fadt = t["FACP"];
  CHECK(m.le(fadt + 4, 4) == 268);  // ACPI 5.0 FADT
  CHECK(m.u8(fadt + 8) == 5);
  CHECK(m.le(fadt + 109, 2) == ((1u << 2) | (1u << 5)));  // NO_VGA | NO_CMOS_RTC
  const uint64_t dsdt = m.le(fadt + 140, 8), facs = m.le(fadt + 132, 8);
  CHECK(m.le(fadt + 40, 4) == dsdt);
  CHECK(m.text(dsdt, 4) == "DSDT");
  CHECK(m.le(dsdt + 4, 4) == aml::dsdt_size);
  CHECK(m.sum(dsdt, aml::dsdt_size) == 0);  // iasl's checksum survives
  CHECK(m.text(facs, 4) == "FACS");
  CHECK(facs % 64 == 0);
  const uint64_t madt = t["APIC"];
  CHECK(m.le(madt + 4, 4) == 44 + 3 * 8);
  CHECK(m.le(madt + 36, 4) == 0xfee00000);
  for (unsigned i = 0; i < 3; ++i) {
    const uint64_t e = madt + 44 + 8 * i;
    CHECK(m.u8(e) == 0);
    CHECK(m.u8(e + 1) == 8);
    CHECK(m.u8(e + 2) == i);
    CHECK(m.u8(e + 3) == 2 * i);
    CHECK(m.le(e + 4, 4) == 1);
  }
  // The information page the DSDT reads: vCPUs, the MADT checksum and first Local APIC entry.
  CHECK(m.le(0xfc000002, 2) == 3);
  CHECK(m.le(0xfc00000c, 4) == madt + 9);
  CHECK(m.le(0xfc000010, 4) == madt + 44);
  CHECK(m.le(0xfc000014, 4) == 0);  // no generation ID: the device's _STA says absent
  // Every table lies in the tables module, 16-byte aligned, inside libxl's 16 pages.
  for (const auto& tb : L->tables) {
    if (tb.signature == "RSDP") continue;
    CHECK(tb.address % 16 == 0);
    CHECK(tb.address >= L->modules[2].address);
    CHECK(tb.address + tb.length <= L->modules[2].address + L->modules[2].bytes.size());
  }
  CHECK(L->modules[2].bytes.size() <= kAcpiMaxTablePages * 0x1000);
}

TEST_CASE("ACPI: a VM generation ID is an SSDT, its 16 bytes on a reserved page, and VGIA points at them") {
  auto id = parse_generation_id("8f2c1d3a-6b5e-4c7d-9a0b-1c2d3e4f5a6b");
  REQUIRE(id);
  // The first three fields little-endian (EFI GUID layout), the rest as written.
  const GenerationId want = {0x3a, 0x1d, 0x2c, 0x8f, 0x5e, 0x6b, 0x7d, 0x4c, 0x9a, 0x0b, 0x1c, 0x2d, 0x3e, 0x4f, 0x5a, 0x6b};
  CHECK(*id == want);
  CHECK(generation_id_str(*id) == "8f2c1d3a-6b5e-4c7d-9a0b-1c2d3e4f5a6b");
  auto L = make_acpi(AcpiConfig{1, *id});
  REQUIRE(L);
  REQUIRE(L->generation_id_address);
  CHECK(*L->generation_id_address == L->rsdp + 0x1000);
  CHECK(L->end == *L->generation_id_address + 0x1000);
  REQUIRE(L->ranges.size() == 2);
  CHECK(L->ranges[1].addr == *L->generation_id_address);
  CHECK(L->ranges[1].size == 0x1000);
  CHECK(L->ranges[1].reserved);
  const Memory m(*L);
  for (int i = 0; i < 16; ++i) CHECK(m.u8(*L->generation_id_address + i) == want[i]);
  CHECK(m.le(0xfc000014, 4) == *L->generation_id_address);
  auto t = walk(m, L->rsdp);
  REQUIRE(t.count("SSDT"));
  CHECK(m.le(t["SSDT"] + 4, 4) == aml::vmgenid_size);
  CHECK(m.text(t["SSDT"] + 16, 8) == std::string("VMGENID\0", 8));
  // The device's identity as the ASL gives it, in the AML: _CID "VM_Gen_Counter", ADDR.
  const std::string ssdt = m.text(t["SSDT"], aml::vmgenid_size);
  CHECK(ssdt.find("VM_Gen_Counter") != std::string::npos);
  CHECK(ssdt.find("ADDR") != std::string::npos);
  CHECK(ssdt.find("VGIA") != std::string::npos);
}

TEST_CASE("ACPI: generation-ID and vCPU inputs that cannot work are refused") {
  CHECK_FALSE(parse_generation_id("not-a-guid"));
  CHECK(elfwrap::to_string(parse_generation_id("00000000-0000-0000-0000-000000000000").error()).find("all-zero") != std::string::npos);
  auto r1 = parse_generation_id("random"), r2 = parse_generation_id("random");
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(*r1 != *r2);
  CHECK_FALSE(make_acpi(AcpiConfig{0, std::nullopt}));
  CHECK(make_acpi(AcpiConfig{kAcpiMaxVcpus, std::nullopt}));
  CHECK_FALSE(make_acpi(AcpiConfig{kAcpiMaxVcpus + 1, std::nullopt}));
  // 128 vCPUs: the MADT grows, everything still fits libxl's 16 pages.
  auto L = make_acpi(AcpiConfig{128, parse_generation_id("random").value()});
  REQUIRE(L);
  const Memory m(*L);
  auto t = walk(m, L->rsdp);
  CHECK(m.le(t["APIC"] + 4, 4) == 44 + 128 * 8);
  CHECK(m.u8(t["APIC"] + 44 + 127 * 8 + 3) == 254);
}

TEST_CASE("the plan: rsdp, ACPI and reserved pages in the memory map, max memory, overlaps, Linux without rsdp_unrestricted") {
  auto plan = [](const fx::Bytes& k, BootConfig c) {
    std::vector<elfwrap::Warning> w;
    auto elf = elfwrap::parse_elf(k, w);
    REQUIRE(elf);
    c.image_name = "k.elf";
    if (!c.memory_mib) c.memory_mib = 256;
    return make_boot_plan(*elf, k, c);
  };
  const fx::Bytes k = fx::elf_kernel({{0, 0x100000, 0x200000, 0x200000}}, 0x2fffd0, 0x200000);
  BootConfig c;
  c.generation_id = parse_generation_id("8f2c1d3a-6b5e-4c7d-9a0b-1c2d3e4f5a6b").value();
  auto p = plan(k, c);
  REQUIRE(p);
  REQUIRE(p->e820.size() == 4);
  CHECK(p->e820[1].type == kE820Acpi);
  CHECK(p->e820[2].addr == *p->acpi.generation_id_address);
  CHECK(p->e820[2].type == kE820Reserved);
  CHECK(p->maxmem_kib == 257 * 1024 + ((p->acpi.end - 0xfc000000) >> 10));
  const auto j = to_json(*p);
  CHECK(j["acpi"]["rsdp"] == p->acpi.rsdp);
  CHECK(j["acpi"]["generation_id"] == "8f2c1d3a-6b5e-4c7d-9a0b-1c2d3e4f5a6b");
  CHECK(j["acpi"]["generation_id_address"] == *p->acpi.generation_id_address);
  CHECK(j["acpi"]["tables"].size() == 8);
  // An image in the hole where the tables go.
  const fx::Bytes low_hole = fx::elf_kernel({{0, 0xfc000000, 0x10000, 0x10000}}, 0xfc000100, 0x10000);
  auto e = plan(low_hole, BootConfig{});
  REQUIRE_FALSE(e);
  CHECK(elfwrap::to_string(e.error()).find("overlaps the ACPI tables [0xfc000000,") != std::string::npos);
  // A flash over the tables.
  BootConfig f;
  f.flash = Placement{"flash", 0xfc000000, 0xfc020000};
  e = plan(k, f);
  REQUIRE_FALSE(e);
  CHECK(elfwrap::to_string(e.error()).find("overlaps the ACPI tables") != std::string::npos);
  // Linux: GUEST_OS "linux" without XENFEAT_linux_rsdp_unrestricted (bit 15) is refused; with it, fine.
  // 0x8801 is what Debian's 6.1 kernel declares (writable_page_tables, hvm_callback_vector,
  // linux_rsdp_unrestricted); 0x80000 (bit 19) is not the feature.
  auto text = [](std::string_view s) {
    fx::Bytes b;
    for (char ch : s) b.push_back(std::byte(ch));
    b.push_back(std::byte{0});
    return b;
  };
  auto word = [](uint32_t v) { return fx::Bytes{std::byte(v), std::byte(v >> 8), std::byte(v >> 16), std::byte(v >> 24)}; };
  const fx::Bytes old_linux =
      fx::elf_kernel({{0x1000, 0x1000000, 0x1000, 0x1000}}, 0x1000010, 0x2000, {{6, text("linux")}, {17, word(0x80001)}});
  e = plan(old_linux, BootConfig{});
  REQUIRE_FALSE(e);
  CHECK(elfwrap::to_string(e.error()).find("XENFEAT_linux_rsdp_unrestricted") != std::string::npos);
  const fx::Bytes new_linux =
      fx::elf_kernel({{0x1000, 0x1000000, 0x1000, 0x1000}}, 0x1000010, 0x2000, {{6, text("linux")}, {17, word(0x8801)}});
  CHECK(plan(new_linux, BootConfig{}));
  const fx::Bytes other_os = fx::elf_kernel({{0x1000, 0x1000000, 0x1000, 0x1000}}, 0x1000010, 0x2000, {{6, text("OVMF")}});
  CHECK(plan(other_os, BootConfig{}));
}
