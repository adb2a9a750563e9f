#include "loader/acpi.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "elfwrap/guid.hpp"
#include "elfwrap/layout.hpp"

namespace loader {
namespace {

using elfwrap::align_up;
using elfwrap::hex;
using elfwrap::kPage;
using elfwrap::plain_error;

constexpr uint32_t kLapicAddress = 0xfee00000;
constexpr size_t kHeader = 36;  // the system description table header
// The information page the DSDT reads (the layout of libacpi's struct acpi_info, so the fields
// sit where libxl's guests have them).
constexpr size_t kInfoNcpu = 2, kInfoMadtChecksum = 12, kInfoMadtLapic0 = 16, kInfoGenerationId = 20;

class Bytes {
 public:
  explicit Bytes(size_t n) : b_(n) {}
  void u8(size_t off, uint8_t v) { b_.at(off) = std::byte{v}; }
  void u16(size_t off, uint16_t v) {
    for (int i = 0; i < 2; ++i) u8(off + i, static_cast<uint8_t>(v >> (8 * i)));
  }
  void u32(size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(off + i, static_cast<uint8_t>(v >> (8 * i)));
  }
  void u64(size_t off, uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(off + i, static_cast<uint8_t>(v >> (8 * i)));
  }
  void text(size_t off, std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) u8(off + i, static_cast<uint8_t>(s[i]));
  }
  // The byte at `at` set so that bytes [from, from + n) sum to 0 (mod 256).
  void checksum(size_t at, size_t from, size_t n) {
    u8(at, 0);
    uint8_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + std::to_integer<uint8_t>(b_.at(from + i)));
    u8(at, static_cast<uint8_t>(-sum));
  }
  std::vector<std::byte>& vec() { return b_; }

 private:
  std::vector<std::byte> b_;
};

// A generic address structure (ACPI 5.0 §5.2.3.2) at `off`: system I/O.
void gas_io(Bytes& t, size_t off, uint8_t bit_width, uint64_t address) {
  t.u8(off, 1);  // system I/O
  t.u8(off + 1, bit_width);
  t.u8(off + 2, 0);
  t.u8(off + 3, 0);
  t.u64(off + 4, address);
}

void header(Bytes& t, std::string_view sig, uint32_t length, uint8_t revision) {
  t.text(0, sig);
  t.u32(4, length);
  t.u8(8, revision);
  t.text(10, "Xen");
  t.text(16, "PVHBOOT");
  t.u32(24, 1);
  t.text(28, "PVHB");
  t.u32(32, 1);
}

// The tables area: 16-byte aligned allocations (libxl's mem_alloc), addressed from `base`.
struct Area {
  uint64_t base;
  std::vector<std::byte> bytes;
  std::vector<AcpiTable> tables;
  uint64_t put(std::string sig, std::vector<std::byte> t, uint64_t align = 16) {
    const uint64_t off = align_up(bytes.size(), align);
    bytes.resize(off + t.size());
    std::memcpy(bytes.data() + off, t.data(), t.size());
    tables.push_back({std::move(sig), base + off, t.size()});
    return base + off;
  }
};

std::vector<std::byte> embedded(const unsigned char* p, size_t n) {
  std::vector<std::byte> v(n);
  std::memcpy(v.data(), p, n);
  return v;
}

}  // namespace

elfwrap::Expected<AcpiLayout> make_acpi(const AcpiConfig& c) {
  if (c.vcpus < 1 || c.vcpus > kAcpiMaxVcpus)
    return plain_error("--vcpus " + std::to_string(c.vcpus) + " is outside 1.." + std::to_string(kAcpiMaxVcpus) +
                       " (the processors the DSDT describes)");
  AcpiLayout L;
  L.start = kAcpiInfoAddress;
  Area area{kAcpiInfoAddress + kPage, {}, {}};

  // FACS: 64 bytes, 64-byte aligned, no header checksum.
  Bytes facs(64);
  facs.text(0, "FACS");
  facs.u32(4, 64);
  facs.u8(32, 1);  // version
  const uint64_t facs_at = area.put("FACS", std::move(facs.vec()), 64);
  const uint64_t dsdt_at = area.put("DSDT", embedded(aml::dsdt, aml::dsdt_size));

  // FADT, ACPI 5.0 (268 bytes), as libacpi's for PVH.
  Bytes fadt(268);
  header(fadt, "FACP", 268, 5);
  fadt.u32(36, static_cast<uint32_t>(facs_at));
  fadt.u32(40, static_cast<uint32_t>(dsdt_at));
  fadt.u16(46, 9);                       // SCI_INT
  fadt.u32(56, 0xb000);                  // PM1a_EVT_BLK (ACPI_PM1A_EVT_BLK_ADDRESS_V1)
  fadt.u32(64, 0xb004);                  // PM1a_CNT_BLK
  fadt.u32(80, 0xafe0);                  // GPE0_BLK
  fadt.u8(88, 4);                        // PM1_EVT_LEN
  fadt.u8(89, 2);                        // PM1_CNT_LEN
  fadt.u8(92, 4);                        // GPE0_BLK_LEN
  fadt.u16(96, 0x0fff);                  // P_LVL2_LAT: no C2
  fadt.u16(98, 0x0fff);                  // P_LVL3_LAT: no C3
  fadt.u16(109, (1u << 2) | (1u << 5));  // IAPC_BOOT_ARCH: VGA Not Present, CMOS RTC Not Present
  // Flags: WBINVD, PROC_C1, PWR_BUTTON, SLP_BUTTON, FIX_RTC, TMR_VAL_EXT, USE_PLATFORM_CLOCK.
  fadt.u32(112, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 15));
  gas_io(fadt, 116, 8, 0xcf9);    // RESET_REG
  fadt.u8(128, 6);                // RESET_VALUE
  fadt.u64(132, facs_at);         // X_FIRMWARE_CTRL
  fadt.u64(140, dsdt_at);         // X_DSDT
  gas_io(fadt, 148, 32, 0xb000);  // X_PM1a_EVT_BLK
  gas_io(fadt, 172, 16, 0xb004);  // X_PM1a_CNT_BLK
  fadt.checksum(9, 0, 268);
  const uint64_t fadt_at = area.put("FACP", std::move(fadt.vec()));

  // MADT: header, local APIC address, flags, then one Local APIC entry per vCPU.
  const uint32_t madt_len = 44 + 8 * c.vcpus;
  Bytes madt(madt_len);
  header(madt, "APIC", madt_len, 2);
  madt.u32(36, kLapicAddress);
  madt.u32(40, 1);  // PCAT_COMPAT
  for (unsigned i = 0; i < c.vcpus; ++i) {
    const size_t e = 44 + 8 * i;
    madt.u8(e, 0);  // Processor Local APIC
    madt.u8(e + 1, 8);
    madt.u8(e + 2, static_cast<uint8_t>(i));      // ACPI processor UID: the DSDT's PRnn _UID
    madt.u8(e + 3, static_cast<uint8_t>(2 * i));  // APIC ID (Xen gives vCPU n the APIC ID 2n)
    madt.u32(e + 4, 1);                           // enabled
  }
  madt.checksum(9, 0, madt_len);
  const uint64_t madt_at = area.put("APIC", std::move(madt.vec()));

  std::vector<uint64_t> entries = {fadt_at, madt_at};
  if (c.generation_id) entries.push_back(area.put("SSDT", embedded(aml::vmgenid, aml::vmgenid_size)));

  const uint32_t xsdt_len = static_cast<uint32_t>(kHeader + 8 * entries.size());
  Bytes xsdt(xsdt_len);
  header(xsdt, "XSDT", xsdt_len, 1);
  for (size_t i = 0; i < entries.size(); ++i) xsdt.u64(kHeader + 8 * i, entries[i]);
  xsdt.checksum(9, 0, xsdt_len);
  const uint64_t xsdt_at = area.put("XSDT", std::move(xsdt.vec()));

  const uint32_t rsdt_len = static_cast<uint32_t>(kHeader + 4 * entries.size());
  Bytes rsdt(rsdt_len);
  header(rsdt, "RSDT", rsdt_len, 1);
  for (size_t i = 0; i < entries.size(); ++i) rsdt.u32(kHeader + 4 * i, static_cast<uint32_t>(entries[i]));
  rsdt.checksum(9, 0, rsdt_len);
  const uint64_t rsdt_at = area.put("RSDT", std::move(rsdt.vec()));

  const uint64_t pages = align_up(area.bytes.size(), kPage) / kPage;
  if (pages > kAcpiMaxTablePages)
    return plain_error("internal: the ACPI tables need " + std::to_string(pages) + " pages, more than the 16 libxl reserves");
  area.bytes.resize(pages * kPage);

  // RSDP (ACPI 2.0+, 36 bytes) on the page after the tables.
  L.rsdp = area.base + pages * kPage;
  Bytes rsdp(36);
  rsdp.text(0, "RSD PTR ");
  rsdp.text(9, "Xen");
  rsdp.u8(15, 2);
  rsdp.u32(16, static_cast<uint32_t>(rsdt_at));
  rsdp.u32(20, 36);
  rsdp.u64(24, xsdt_at);
  rsdp.checksum(8, 0, 20);
  rsdp.checksum(32, 0, 36);
  L.end = L.rsdp + kPage;

  Bytes info(kPage);
  info.u16(kInfoNcpu, static_cast<uint16_t>(c.vcpus));
  info.u32(kInfoMadtChecksum, static_cast<uint32_t>(madt_at + 9));
  info.u32(kInfoMadtLapic0, static_cast<uint32_t>(madt_at + 44));
  if (c.generation_id) {
    L.generation_id_address = L.end;
    info.u32(kInfoGenerationId, static_cast<uint32_t>(*L.generation_id_address));
    L.end += kPage;
  }

  L.modules.push_back({"RSDP", L.rsdp, std::move(rsdp.vec())});
  L.modules.push_back({"ACPI information page", kAcpiInfoAddress, std::move(info.vec())});
  L.modules.push_back({"ACPI tables", area.base, std::move(area.bytes)});
  if (c.generation_id) {
    std::vector<std::byte> id(16);
    std::memcpy(id.data(), c.generation_id->data(), 16);
    L.modules.push_back({"VM generation ID", *L.generation_id_address, std::move(id)});
  }
  L.tables = std::move(area.tables);
  L.tables.insert(L.tables.begin(), {"RSDP", L.rsdp, 36});
  L.ranges.push_back({kAcpiInfoAddress, L.rsdp + kPage - kAcpiInfoAddress, false});
  if (L.generation_id_address) L.ranges.push_back({*L.generation_id_address, kPage, true});
  return L;
}

elfwrap::Expected<GenerationId> parse_generation_id(const std::string& text) {
  GenerationId id{};
  if (text == "random") {
    size_t got = 0;
    while (got < id.size()) {
      const ssize_t n = ::getrandom(id.data() + got, id.size() - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return plain_error(std::string("getrandom: ") + std::strerror(errno));
      got += static_cast<size_t>(n);
    }
    return id;
  }
  const auto g = elfwrap::Guid::parse(text);
  if (!g) return plain_error("--generation-id '" + text + "': expected a GUID like 8f2c1d3a-6b5e-4c7d-9a0b-1c2d3e4f5a6b, or 'random'");
  std::memcpy(id.data(), g->bytes.data(), 16);
  bool zero = true;
  for (uint8_t b : id) zero = zero && b == 0;
  if (zero) return plain_error("--generation-id: the all-zero ID means \"no ID\" to guests; give another");
  return id;
}

std::string generation_id_str(const GenerationId& id) {
  elfwrap::Guid g;
  std::memcpy(g.bytes.data(), id.data(), 16);
  return g.str();
}

}  // namespace loader
