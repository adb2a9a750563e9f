// libFuzzer target: the emulated flash (pflash/cfi.hpp) driven by arbitrary guest accesses.
// Each 11-byte record of the input is one access: op (bit 0: write; bits 1-2: size 1/2/4/8),
// a 16-bit offset (reaching past the 0x4000-byte flash on purpose), 8 bytes of value.
// Properties checked after every access, beyond ASan/UBSan's:
//   - every byte the guest changed is inside a reported Change (what xen-pflash persists before
//     completing the access): a shadow copy updated only from Changes equals the contents;
//   - a Change lies inside the flash; the flash never changes size;
//   - a read outside the flash returns all ones.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pflash/cfi.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kSize = 0x4000;
  std::vector<uint8_t> initial(kSize);
  for (size_t i = 0; i < kSize; ++i) initial[i] = static_cast<uint8_t>(i * 13 + 5);
  pflash::CfiFlash flash(initial, 0x1000);
  std::vector<uint8_t> shadow = initial;
  for (size_t at = 0; at + 11 <= size; at += 11) {
    const uint8_t op = data[at];
    const unsigned sz = 1u << ((op >> 1) & 3);
    const uint64_t offset = uint64_t{data[at + 1]} | uint64_t{data[at + 2]} << 8;
    uint64_t value;
    std::memcpy(&value, data + at + 3, 8);
    if (op & 1) {
      if (auto c = flash.write(offset, sz, value)) {
        if (c->offset > kSize || c->length > kSize - c->offset) __builtin_trap();
        std::memcpy(shadow.data() + c->offset, flash.contents().data() + c->offset, c->length);
      }
    } else {
      const uint64_t v = flash.read(offset, sz);
      const bool outside = offset > kSize || sz > kSize - offset;
      const uint64_t ones = sz == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * sz)) - 1;
      if (outside && v != ones) __builtin_trap();
    }
    if (flash.contents().size() != kSize) __builtin_trap();
    if (std::memcmp(shadow.data(), flash.contents().data(), kSize) != 0) __builtin_trap();  // an unreported change
  }
  return 0;
}
