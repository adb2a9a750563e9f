// Wrapping a firmware image as an ELF "kernel", and unwrapping it again. Pure: plan_wrap()
// decides everything (source kind, load address, entry, header bytes, what gets erased) and
// can fail; apply_wrap() only assembles bytes and cannot fail. The driver does the I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "elfwrap/image.hpp"
#include "elfwrap/layout.hpp"

namespace elfwrap {

inline constexpr uint64_t kPvhDefaultLoad = kMiB;
inline constexpr uint64_t kPvhEntryFromEnd = 0x30;  // OvmfPkg/XenResetVector
inline constexpr uint64_t kResetVectorFromEnd = 0x10;

enum class Target { pvh, hvm };
enum class Source { raw, code, elf };
const char* target_name(Target t);
const char* source_name(Source s);

struct VarsInput {   // --vars: a varstore to place in front of a CODE-only image
  std::string name;  // for messages
  const Image* image = nullptr;
  std::span<const std::byte> bytes;
};

struct WrapOptions {
  Target target = Target::pvh;
  std::optional<uint64_t> load_address;
  int elf_class = 64;
  std::optional<uint64_t> entry_offset;  // offset in the wrapped image of the PVH entry
  bool force = false;                    // discard live variables
  bool saving_vars = false;              // --save-vars given: the driver saves the NV region first
  bool allow_mmio_hole = false;          // PVH load addresses in [0xfc000000, 4 GiB)
  std::optional<VarsInput> vars;
};

struct WrapPlan {
  Target target = Target::pvh;
  Source source = Source::raw;
  int elf_class = 64;
  uint64_t load_address = 0, entry = 0, image_size = 0;
  std::optional<uint64_t> entry_offset;  // PVH: image offset of the PVH entry
  const NvLayout* layout = nullptr;      // NV layout of the result (null: no OVMF NV region)
  std::vector<std::byte> prefix;         // put in front of a CODE-only input
  uint64_t erase_end = 0;                // output [0, erase_end): header, then 0xff
  std::vector<std::byte> header;
  // Length of the NV region at the start of the image before wrapping (prefix + input): what
  // --save-vars writes; 0 when there is none to save.
  uint64_t nv_region_length = 0;
  size_t discarded_variables = 0;
  std::vector<std::string> warnings;
};

// `img` is the parsed `input`. Errors carry the offending offset; the driver adds the file name
// (errors about the --vars file already carry its name).
Expected<WrapPlan> plan_wrap(const Image& img, std::span<const std::byte> input, const WrapOptions& opts);
std::vector<std::byte> apply_wrap(const WrapPlan& plan, std::span<const std::byte> input);
// The same output as pieces to write one after the other, without assembling a copy:
// header, erased bytes (from `erased`, which must hold at least erase_end bytes of 0xff), rest.
std::vector<std::span<const std::byte>> wrap_pieces(const WrapPlan& plan, std::span<const std::byte> input,
                                                    std::span<const std::byte> erased);
// The NV region as it is before wrapping (for --save-vars).
std::vector<std::byte> nv_region_before(const WrapPlan& plan, std::span<const std::byte> input);

// Back to a raw flash image: the ELF header area becomes a pristine variable store of the
// image's layout; a prefix elfwrap added to a CODE-only image without a layout is dropped.
struct UnwrapPlan {
  const NvLayout* layout = nullptr;
  uint64_t strip = 0;        // bytes removed from the front
  uint64_t restore_end = 0;  // [0, restore_end) replaced by the pristine template
};
Expected<UnwrapPlan> plan_unwrap(const Image& img);
std::vector<std::byte> apply_unwrap(const UnwrapPlan& plan, std::span<const std::byte> input);

}  // namespace elfwrap
