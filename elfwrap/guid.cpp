#include "elfwrap/guid.hpp"

#include <cstdio>

namespace elfwrap {
namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct Known {
  const char* text;
  const char* name;
};

// Sources: edk2 MdePkg/MdePkg.dec, MdeModulePkg.dec, OvmfPkg/OvmfPkg.dec, OvmfPkg *.fdf,
// OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm (GUIDed table), SecurityPkg.dec.
constexpr Known kKnown[] = {
    {"fff12b8d-7696-4c8b-a985-2747075b4f50", "EFI_SYSTEM_NV_DATA_FV"},
    {"8c8ce578-8a3d-4f1c-9935-896185c32dd3", "EFI_FIRMWARE_FILE_SYSTEM2"},
    {"5473c07a-3dcb-4dca-bd6f-1e9689e7349a", "EFI_FIRMWARE_FILE_SYSTEM3"},
    {"763bed0d-de9f-48f5-81f1-3e90e1b1a015", "SECFV"},
    {"48db5e17-707c-472d-91cd-1613e7ef51b0", "FVMAIN_COMPACT"},
    {"6938079b-b503-4e3d-9d24-b28337a25806", "PEIFV"},
    {"7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1", "DXEFV"},
    {"aaf32c78-947b-439a-a180-2e144ec37792", "EFI_AUTHENTICATED_VARIABLE"},
    {"ddcf3616-3275-4164-98b6-fe85707ffe7d", "EFI_VARIABLE"},
    {"9e58292b-7c68-497d-a0ce-6500fd9f1b95", "EDKII_WORKING_BLOCK_SIGNATURE"},
    {"96b582de-1fb2-45f7-baea-a366c55a082d", "OVMF_TABLE_FOOTER"},
    {"00f771de-1a7e-4fcb-890e-68c77e2fb44e", "SEV_ES_RESET_BLOCK"},
    {"4c2eb361-7d9b-4cc3-8081-127c90d3d294", "SEV_SECRET_BLOCK"},
    {"7255371f-3a3b-4b04-927b-1da6efa8d454", "SEV_HASH_TABLE_BLOCK"},
    {"dc886566-984a-4798-a75e-5585a7bf67cc", "SEV_SNP_METADATA"},
    {"e47a6535-984a-4798-865e-4685a7bf8ec2", "TDX_METADATA"},
    {"8be4df61-93ca-11d2-aa0d-00e098032b8c", "EFI_GLOBAL_VARIABLE"},
    {"d719b2cb-3d3a-4596-a3bc-dad00e67656f", "EFI_IMAGE_SECURITY_DATABASE"},
    {"4c19049f-4137-4dd3-9c10-8b97a83ffdfa", "EFI_MEMORY_TYPE_INFORMATION"},
    {"eb704011-1402-11d3-8e77-00a0c969723b", "MTC_VENDOR"},
    {"9073e4e0-60ec-4b6e-9903-4c223c260f3c", "VENDOR_KEYS_NV"},
    {"ffffffff-ffff-ffff-ffff-ffffffffffff", "PAD"},
};

}  // namespace

std::optional<Guid> Guid::parse(std::string_view t) {
  if (t.size() != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-') return std::nullopt;
  uint8_t raw[16];  // registry order
  size_t k = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    int hi = hexval(t[i]), lo = hexval(t[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    raw[k++] = static_cast<uint8_t>(hi << 4 | lo);
    ++i;
  }
  Guid g;
  // Data1 (LE u32), Data2 (LE u16), Data3 (LE u16), Data4 as is.
  const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  for (int i = 0; i < 16; ++i) g.bytes[i] = raw[order[i]];
  return g;
}

Guid Guid::of(std::string_view text) { return parse(text).value_or(Guid{}); }

std::string Guid::str() const {
  const auto& b = bytes;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2], b[1], b[0], b[5], b[4],
                b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return buf;
}

const char* guid_name(const Guid& g) {
  const std::string s = g.str();
  for (const auto& k : kKnown)
    if (s == k.text) return k.name;
  return nullptr;
}

namespace guids {
const Guid kNvStoreFv = Guid::of("fff12b8d-7696-4c8b-a985-2747075b4f50");
const Guid kFfs2 = Guid::of("8c8ce578-8a3d-4f1c-9935-896185c32dd3");
const Guid kFfs3 = Guid::of("5473c07a-3dcb-4dca-bd6f-1e9689e7349a");
const Guid kSecFv = Guid::of("763bed0d-de9f-48f5-81f1-3e90e1b1a015");
const Guid kFvMainCompact = Guid::of("48db5e17-707c-472d-91cd-1613e7ef51b0");
const Guid kPeiFv = Guid::of("6938079b-b503-4e3d-9d24-b28337a25806");
const Guid kDxeFv = Guid::of("7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1");
const Guid kAuthVarStore = Guid::of("aaf32c78-947b-439a-a180-2e144ec37792");
const Guid kVarStore = Guid::of("ddcf3616-3275-4164-98b6-fe85707ffe7d");
const Guid kFtwWorkingBlock = Guid::of("9e58292b-7c68-497d-a0ce-6500fd9f1b95");
const Guid kOvmfTableFooter = Guid::of("96b582de-1fb2-45f7-baea-a366c55a082d");
const Guid kGlobalVariable = Guid::of("8be4df61-93ca-11d2-aa0d-00e098032b8c");
}  // namespace guids

}  // namespace elfwrap
