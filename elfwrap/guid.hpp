// EFI GUIDs: 16 bytes in the mixed-endian EFI layout, printed in registry form.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace elfwrap {

struct Guid {
  std::array<uint8_t, 16> bytes{};  // as stored in the image

  // Parses "8c8ce578-8a3d-4f1c-9935-896185c32dd3"; nullopt when malformed.
  static std::optional<Guid> parse(std::string_view text);
  // Like parse() but for compile-time-known constants (aborts never: returns zero GUID on typo,
  // which the unit tests rule out).
  static Guid of(std::string_view text);
  std::string str() const;
  bool operator==(const Guid&) const = default;
};

// Well-known GUIDs used by the parsers and writers.
namespace guids {
extern const Guid kNvStoreFv;  // gEfiSystemNvDataFvGuid
extern const Guid kFfs2;       // gEfiFirmwareFileSystem2Guid
extern const Guid kFfs3;       // gEfiFirmwareFileSystem3Guid
extern const Guid kSecFv, kFvMainCompact, kPeiFv, kDxeFv;
extern const Guid kAuthVarStore;     // gEfiAuthenticatedVariableGuid
extern const Guid kVarStore;         // gEfiVariableGuid
extern const Guid kFtwWorkingBlock;  // gEdkiiWorkingBlockSignatureGuid
extern const Guid kOvmfTableFooter;  // OVMF GUIDed table footer
extern const Guid kGlobalVariable;   // gEfiGlobalVariableGuid
}  // namespace guids

// A human name for a GUID the project knows (file systems, FV names, variable
// vendors, OVMF table entries); nullptr when unknown.
const char* guid_name(const Guid& g);

}  // namespace elfwrap
