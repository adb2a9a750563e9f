#include "elfwrap/reader.hpp"

namespace elfwrap {

bool ByteView::all_equal(uint64_t off, uint64_t len, uint8_t value) const {
  if (!contains(off, len)) return false;
  for (uint64_t i = 0; i < len; ++i)
    if (std::to_integer<uint8_t>(data_[off + i]) != value) return false;
  return true;
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
