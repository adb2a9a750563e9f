#include "elfwrap/reader.hpp"

#include <algorithm>

namespace elfwrap {

bool ByteView::all_equal(uint64_t off, uint64_t len, uint8_t value) const {
  if (!contains(off, len)) return false;
  const auto part = data_.subspan(off, len);
  return std::all_of(part.begin(), part.end(), [value](std::byte b) { return b == std::byte{value}; });
}

uint64_t ByteView::find_not(uint64_t off, uint8_t value) const {
  if (off >= data_.size()) return data_.size();
  const auto it = std::find_if(data_.begin() + static_cast<ptrdiff_t>(off), data_.end(),
                               [value](std::byte b) { return b != std::byte{value}; });
  return static_cast<uint64_t>(it - data_.begin());
}

bool ByteView::matches(uint64_t off, std::string_view text) const {
  if (!contains(off, text.size())) return false;
  for (size_t i = 0; i < text.size(); ++i)
    if (std::to_integer<uint8_t>(data_[off + i]) != static_cast<uint8_t>(text[i])) return false;
  return true;
}

Expected<ByteView> need_sub(const ByteView& v, uint64_t off, uint64_t len, const std::string& path,
                            const char* what) {
  if (auto s = v.sub(off, len)) return *s;
  return error_at(v.abs(off), path,
                  std::string("truncated: ") + what + " (" + hex(len) +
                      " bytes) runs past end of data at " + hex(v.abs(v.size())));
}

}  // namespace elfwrap
