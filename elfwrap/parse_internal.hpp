// Internal interfaces between the parsers of parse_image(). Not installed.
#pragma once

#include <vector>

#include "elfwrap/checksum.hpp"
#include "elfwrap/image.hpp"
#include "elfwrap/reader.hpp"

namespace elfwrap {

inline constexpr uint64_t kFvHeaderFixed = 0x38;  // up to the block map
inline constexpr uint64_t kFvSignatureOff = 0x28;
inline constexpr uint32_t kFvbErasePolarity = 0x800;
inline constexpr size_t kMaxVolumes = 1024, kMaxFiles = 1u << 16, kMaxVariables = 1u << 16;
// FFS files and gaps kept in the model for the whole image (all are checked; the rest counted).
inline constexpr size_t kMaxListed = 8192;

Expected<ElfWrapper> parse_elf_wrapper(const ByteView& v, std::vector<Warning>& warns);

// True when a volume header (zero vector + "_FVH") starts at `off`.
bool looks_like_fv(const ByteView& v, uint64_t off);
// First 8-aligned offset in [from, to) where looks_like_fv() holds; `to` when none.
uint64_t find_fv(const ByteView& v, uint64_t from, uint64_t to);

// `budget`: how many more FFS files and gaps the model may keep (see kMaxListed).
Expected<Volume> parse_volume(const ByteView& img, uint64_t off, size_t index, std::vector<Warning>& warns, size_t& budget);
Expected<NvStore> parse_nvstore(const ByteView& img, const Volume& fv, size_t index, std::vector<Warning>& warns);
// NV region whose headers were replaced by an ELF header: identified by the FTW working block.
std::optional<NvStore> detect_headerless_nvstore(const ByteView& img, std::vector<Warning>& warns);
Expected<ResetVector> parse_reset_vector(const ByteView& img);

}  // namespace elfwrap
