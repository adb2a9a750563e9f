// libFuzzer target: the variable-store walk. The input becomes the variable area of a pristine
// 0x20000-layout NV region (valid FV, store header and FTW block), so every execution reaches
// the variable parser; the first input byte picks the authenticated or the plain format.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "elfwrap/image.hpp"
#include "elfwrap/json.hpp"
#include "elfwrap/nv_template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::byte> blank = elfwrap::blank_nv_region(elfwrap::kLayout2M);
  constexpr size_t kVarsStart = 0x64, kVarsEnd = 0xe000;
  if (size == 0) return 0;
  std::vector<std::byte> region = blank;
  if (data[0] & 1) {  // plain store signature instead of the authenticated one
    const auto& g = elfwrap::guids::kVarStore.bytes;
    for (size_t i = 0; i < 16; ++i) region[0x48 + i] = std::byte{g[i]};
  }
  const size_t n = std::min(size - 1, kVarsEnd - kVarsStart);
  std::transform(data + 1, data + 1 + n, region.begin() + kVarsStart, [](uint8_t b) { return std::byte{b}; });
  const elfwrap::ParseOptions opts;  // no LIEF cross-check (fuzz_image.cpp says why)
  auto img = elfwrap::parse_image(region, opts);
  if (img && img->nvstore) {
    (void)elfwrap::to_json(*img->nvstore).dump();
    for (const auto& v : img->nvstore->variables)
      if (v.end > kVarsEnd || v.data_offset + v.data_size > kVarsEnd) __builtin_trap();  // stays in the store
  }
  return 0;
}
