// The firmware-image model: what an OVMF flash image (raw, CODE-only, VARS, or
// carrying a leading ELF header) is made of. Produced by parse_image(); pure data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "elfwrap/error.hpp"
#include "elfwrap/guid.hpp"

namespace elfwrap {

struct Warning {
  uint64_t offset = 0;
  std::string path;
  std::string message;
};
std::string to_string(const Warning& w);

// ---- leading ELF wrapper ---------------------------------------------------
struct ElfSegment {
  uint32_t type = 0, flags = 0;
  uint64_t offset = 0, vaddr = 0, paddr = 0, filesz = 0, memsz = 0, align = 0;
};
struct ElfNote {
  uint64_t offset = 0;  // of the note header, in the file
  std::string name;     // without the trailing NUL
  uint32_t type = 0;
  std::vector<uint8_t> desc;
  std::optional<uint64_t> value;  // desc as a little-endian integer when it is 1/2/4/8 bytes
};
struct ElfWrapper {
  int elf_class = 0;  // 32 or 64
  uint16_t machine = 0;
  uint8_t osabi = 0;
  uint64_t entry = 0;
  uint64_t phoff = 0;
  uint16_t phnum = 0;
  uint64_t header_end = 0;  // first byte after ELF header, program headers and notes
  std::vector<ElfSegment> segments;
  std::vector<ElfNote> notes;  // from PT_NOTE segments, in order
  // PHYS32_ENTRY from the last PT_NOTE holding one (what loaders use).
  std::optional<uint64_t> phys32_entry() const;
};
const char* xen_note_name(uint32_t type);  // "PHYS32_ENTRY"; nullptr when unknown
const char* elf_segment_type_name(uint32_t type);

// ---- firmware volumes ------------------------------------------------------
struct FfsFile {
  uint64_t offset = 0;  // header, absolute
  Guid name;
  uint8_t type = 0;
  uint8_t attributes = 0;
  uint64_t size = 0;  // including the header
  uint32_t header_size = 24;
  uint8_t state = 0;  // decoded (erase polarity applied): EFI_FILE_* bits
  uint32_t alignment = 1;
  bool header_checksum_ok = true;
};
const char* ffs_type_name(uint8_t type);
std::string ffs_state_name(uint8_t state);

struct Gap {
  uint64_t offset = 0, length = 0;
  bool erased = false;  // every byte is the erase value (free space)
};

enum class VolumeRole { nvstore, sec, main, other };
const char* role_name(VolumeRole r);

struct BlockMapEntry {
  uint32_t num_blocks = 0, length = 0;
};

struct Volume {
  uint64_t offset = 0, length = 0;
  Guid filesystem;
  std::optional<Guid> name;  // from the extended header
  uint32_t attributes = 0;
  uint16_t header_length = 0, checksum = 0;
  bool checksum_ok = true;
  uint8_t revision = 0;
  std::vector<BlockMapEntry> block_map;
  VolumeRole role = VolumeRole::other;
  std::vector<FfsFile> files;
  std::vector<Gap> gaps;  // free space and unrecognised bytes inside the volume
  // Every file is checked; an image of very many files lists only the first ones (the model
  // keeps 8192 files and gaps in all): these count what is not in `files` and `gaps`.
  uint64_t file_count = 0, unlisted_gaps = 0;
  uint64_t unlisted_files() const { return file_count - files.size(); }
};

// ---- NV store --------------------------------------------------------------
// The two OVMF NV region layouts (OvmfPkg/VarStore.fdf.inc). Offsets are relative to the region.
struct NvLayout {
  const char* name;  // "0x20000" or "0x84000"
  uint64_t region_size, varstore_size, event_log_offset, ftw_working_offset, ftw_working_size, ftw_spare_offset, ftw_spare_size;
};
extern const NvLayout kLayout2M;  // 1 MiB and 2 MiB builds
extern const NvLayout kLayout4M;  // 4 MiB builds
const NvLayout* layout_by_name(std::string_view name);
const NvLayout* layout_by_region_size(uint64_t size);

enum class VarState { added, in_deleted_transition, deleted, header_valid_only, invalid };
const char* var_state_name(VarState s);

struct Variable {
  uint64_t offset = 0;  // header, absolute
  std::string name;     // UTF-8 from the UTF-16 name
  Guid vendor;
  uint32_t attributes = 0;
  uint8_t state_raw = 0;
  VarState state = VarState::invalid;
  uint32_t name_size = 0, data_size = 0;
  uint64_t data_offset = 0;  // absolute
  uint64_t end = 0;          // absolute, 4-byte aligned start of the next header
  bool torn = false;         // an interrupted header write: sizes read as 0, as edk2 does
  // Boot####, Driver####, SysPrep#### and PlatformRecovery#### of the EFI global-variable
  // vendor are EFI_LOAD_OPTIONs (UEFI 2.9 §3.1.3): their Description, when it decodes.
  std::optional<std::string> load_option_description;
};
std::string var_attributes_str(uint32_t a);  // "NV|BS|RT"

struct FtwWorkingBlock {
  uint64_t offset = 0;
  bool signature_ok = false;
  uint32_t crc = 0;
  bool crc_ok = false;
  bool valid = false;  // WorkingBlockValid set (erase polarity applied) and Invalid clear
  uint64_t write_queue_size = 0;
};

struct NvStore {
  uint64_t offset = 0;  // region start, absolute
  const NvLayout* layout = nullptr;
  bool fv_present = true;  // false when an ELF header replaced the FV/store headers
  bool authenticated = false;
  uint64_t store_offset = 0;  // variable store header, absolute
  uint32_t store_size = 0;
  uint8_t format = 0, state = 0;
  std::vector<Variable> variables;  // every header found, whatever its state
  uint64_t free_offset = 0;         // absolute offset of the first free byte in the store
  std::optional<FtwWorkingBlock> ftw;
  size_t live_variables() const;  // added or in deleted transition: data a user would lose
};

// ---- reset vector ----------------------------------------------------------
enum class Flavor { xen_pvh, stock, unknown };
const char* flavor_name(Flavor f);

struct GuidedEntry {
  uint64_t offset = 0;  // entry start, absolute
  uint16_t length = 0;
  Guid guid;
};
struct ResetVector {
  Flavor flavor = Flavor::unknown;
  bool vtf = false;                          // "VTF\0" at end-0x14: a volume top file with a reset vector (any flavor)
  std::optional<uint64_t> pvh_entry_offset;  // offset in the image of the 32-bit PVH entry
  std::vector<GuidedEntry> guided_table;
};

// ---- the whole image -------------------------------------------------------
struct Image {
  uint64_t size = 0;
  std::optional<ElfWrapper> elf;
  std::vector<Volume> volumes;
  std::vector<Gap> gaps;  // top-level bytes outside any volume (excluding the ELF header)
  std::optional<NvStore> nvstore;
  ResetVector reset_vector;
  std::vector<Warning> warnings;
};

// The first volume that is not an NV store (a code volume); nullptr for a VARS file.
const Volume* first_code_volume(const Image& img);

// The NV layout an image uses (its own NV region) or expects: OVMF's flash is VARS followed by
// CODE, 1, 2 or 4 MiB in all (OvmfPkg/OvmfPkgDefines.fdf.inc), so a CODE image of size S expects
// the layout whose region makes S + region a whole flash size. nullptr when neither applies.
const NvLayout* expected_layout(const Image& img);

// A second reading of an ELF header the checked reader accepted; disagreements become warnings.
using ElfCrossCheck = void (*)(std::span<const std::byte> bytes, const ElfWrapper& w, std::vector<Warning>& warns);

struct ParseOptions {
  // lief_cross_check (elfwrap/lief_check.hpp, library elfwrap_lief) for the elfwrap CLI and the
  // tests; none for pvhboot, which does not link LIEF (its start-up cost) and whose images
  // libxenguest reads again anyway.
  ElfCrossCheck elf_cross_check = nullptr;
  // Rescue (vars list/extract): faults outside the NV store, in a code volume or the reset
  // vector, become warnings, so that the variables of a damaged image can still be saved.
  bool rescue = false;
};

// Only the ELF header, program headers and notes of an ELF file (any x86 ELF, e.g. a PVH
// kernel that is not a firmware image), with the same checked reader parse_image() uses.
bool looks_like_elf(std::span<const std::byte> bytes);  // starts with \x7fELF
Expected<ElfWrapper> parse_elf(std::span<const std::byte> bytes, std::vector<Warning>& warnings);

// Parses untrusted bytes. Structural violations are errors (offset, path, field, value);
// soft findings are warnings on the model. Bounded: every loop strictly advances.
Expected<Image> parse_image(std::span<const std::byte> bytes, const ParseOptions& opts = {});

}  // namespace elfwrap
