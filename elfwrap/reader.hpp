// The one checked reader for untrusted bytes (trust boundary: everything read
// from an image goes through ByteView; no pointer into the image is ever cast).
//
// Bounds are checked as `off <= size && len <= size - off`, never after an
// addition that could overflow. Fields are little-endian and assembled byte by
// byte, so host endianness and alignment do not matter.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

#include "elfwrap/error.hpp"

namespace elfwrap {

class ByteView {
 public:
  ByteView() = default;
  explicit ByteView(std::span<const std::byte> data, uint64_t base = 0) : data_(data), base_(base) {}

  uint64_t size() const { return data_.size(); }
  // Absolute offset (in the file) of a local offset.
  uint64_t abs(uint64_t off) const { return base_ + off; }
  uint64_t base() const { return base_; }
  std::span<const std::byte> bytes() const { return data_; }

  bool contains(uint64_t off, uint64_t len) const { return off <= data_.size() && len <= data_.size() - off; }

  std::optional<ByteView> sub(uint64_t off, uint64_t len) const {
    if (!contains(off, len)) return std::nullopt;
    return ByteView(data_.subspan(off, len), base_ + off);
  }

  // Little-endian unsigned integer of sizeof(T) bytes.
  template <class T>
  std::optional<T> le(uint64_t off) const {
    static_assert(std::is_unsigned_v<T>);
    if (!contains(off, sizeof(T))) return std::nullopt;
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(std::to_integer<uint8_t>(data_[off + i])) << (8 * i);
    return v;
  }

  template <size_t N>
  std::optional<std::array<uint8_t, N>> array(uint64_t off) const {
    if (!contains(off, N)) return std::nullopt;
    std::array<uint8_t, N> a{};
    for (size_t i = 0; i < N; ++i) a[i] = std::to_integer<uint8_t>(data_[off + i]);
    return a;
  }

  // True when [off, off+len) is inside and every byte equals `value`.
  bool all_equal(uint64_t off, uint64_t len, uint8_t value) const;
  // First offset >= off whose byte differs from `value`; size() when there is none.
  uint64_t find_not(uint64_t off, uint8_t value) const;
  // True when the bytes at off equal `text` exactly.
  bool matches(uint64_t off, std::string_view text) const;

 private:
  std::span<const std::byte> data_;
  uint64_t base_ = 0;
};

// Checked reads that turn "out of bounds" into a located error naming the field.
template <class T>
Expected<T> need_le(const ByteView& v, uint64_t off, const std::string& path, const char* field) {
  if (auto r = v.le<T>(off)) return *r;
  return error_at(
      v.abs(off), path,
      std::string("truncated: ") + field + " (" + std::to_string(sizeof(T)) + " bytes) runs past end of data at " + hex(v.abs(v.size())));
}

Expected<ByteView> need_sub(const ByteView& v, uint64_t off, uint64_t len, const std::string& path, const char* what);

}  // namespace elfwrap
