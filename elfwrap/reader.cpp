#include "elfwrap/reader.hpp"

#include <algorithm>
#include <cstring>

namespace elfwrap {

// Free space is most of a firmware image, so these two scan 8 bytes at a time (memcpy'd words:
// no alignment or aliasing assumptions) and finish byte by byte.
uint64_t ByteView::find_not(uint64_t off, uint8_t value) const {
  const uint64_t n = data_.size();
  if (off >= n) return n;
  const uint64_t pattern = 0x0101010101010101ull * value;
  uint64_t i = off;
  for (; n - i >= 8; i += 8) {
    uint64_t w;
    std::memcpy(&w, data_.data() + i, 8);
    if (w != pattern) break;
  }
  for (; i < n; ++i)
    if (data_[i] != std::byte{value}) return i;
  return n;
}

bool ByteView::all_equal(uint64_t off, uint64_t len, uint8_t value) const {
  if (!contains(off, len)) return false;
  return sub(off, len)->find_not(0, value) == len;
}

bool ByteView::matches(uint64_t off, std::string_view text) const {
  if (!contains(off, text.size())) return false;
  for (size_t i = 0; i < text.size(); ++i)
    if (std::to_integer<uint8_t>(data_[off + i]) != static_cast<uint8_t>(text[i])) return false;
  return true;
}

Expected<ByteView> need_sub(const ByteView& v, uint64_t off, uint64_t len, const std::string& path, const char* what) {
  if (auto s = v.sub(off, len)) return *s;
  return error_at(v.abs(off), path,
                  std::string("truncated: ") + what + " (" + hex(len) + " bytes) runs past end of data at " + hex(v.abs(v.size())));
}

}  // namespace elfwrap
