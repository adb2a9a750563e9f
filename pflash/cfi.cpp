#include "pflash/cfi.hpp"

#include <algorithm>

namespace pflash {
namespace {

constexpr uint8_t kReady = 0x80, kEraseError = 0x20, kProgramError = 0x10;
constexpr uint8_t kManufacturer = 0x89, kDevice = 0x18;  // what QEMU's pc flash answers to 0x90

}  // namespace

CfiFlash::CfiFlash(std::vector<uint8_t> contents, uint64_t block_size) : data_(std::move(contents)), block_size_(block_size) {
  if (block_size_ == 0 || (block_size_ & (block_size_ - 1)) != 0) block_size_ = 0x1000;
}

bool CfiFlash::inside(uint64_t offset, unsigned size) const {
  return (size == 1 || size == 2 || size == 4 || size == 8) && offset <= data_.size() && size <= data_.size() - offset;
}

void CfiFlash::read_array() {
  mode_ = 0x00;
  cycle_ = 0;
}

void CfiFlash::error(uint8_t bits) {
  status_ |= bits;
  ++stats_.errors;
  read_array();
}

uint64_t CfiFlash::read(uint64_t offset, unsigned size) {
  ++stats_.reads;
  if (!inside(offset, size)) return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
  uint64_t v = 0;
  switch (mode_) {
    case 0x00:
      for (unsigned i = 0; i < size; ++i) v |= uint64_t{data_[offset + i]} << (8 * i);
      return v;
    case 0x90:  // device ID: manufacturer at even offsets of the block, device at odd ones
      return (offset & 1) ? kDevice : kManufacturer;
    default:  // a command in progress, or read status: the status register (QEMU: low byte, and byte 2 of wider reads)
      return size > 2 ? (uint64_t{status_} | (uint64_t{status_} << 16)) : status_;
  }
}

std::optional<Change> CfiFlash::first_cycle(uint64_t offset, uint8_t cmd) {
  (void)offset;
  switch (cmd) {
    case 0x00:
    case 0xf0:
    case 0xff:
      read_array();
      return std::nullopt;
    case 0x50:
      status_ = 0;
      read_array();
      return std::nullopt;
    case 0x70:
    case 0x90:
      mode_ = cmd;
      return std::nullopt;
    case 0x10:
    case 0x40:
    case 0x20:
    case 0x28:
    case 0x60:
      mode_ = cmd;
      cycle_ = 1;
      return std::nullopt;
    default:
      error(kProgramError | kEraseError);
      return std::nullopt;
  }
}

std::optional<Change> CfiFlash::second_cycle(uint64_t offset, unsigned size, uint64_t value) {
  const uint8_t cmd = static_cast<uint8_t>(value);
  switch (mode_) {
    case 0x10:
    case 0x40:  // the data byte(s)
      for (unsigned i = 0; i < size; ++i) data_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
      status_ |= kReady;
      cycle_ = 0;
      ++stats_.programs;
      return Change{offset, size};
    case 0x20:
    case 0x28:
      if (cmd == 0xd0) {
        const uint64_t block = offset & ~(block_size_ - 1);
        const uint64_t len = std::min<uint64_t>(block_size_, data_.size() - block);
        std::fill(data_.begin() + static_cast<ptrdiff_t>(block), data_.begin() + static_cast<ptrdiff_t>(block + len), uint8_t{0xff});
        status_ |= kReady;
        cycle_ = 0;
        ++stats_.erases;
        return Change{block, len};
      }
      if (cmd == 0xff)
        read_array();
      else
        error(kEraseError);
      return std::nullopt;
    case 0x60:
      if (cmd == 0xd0 || cmd == 0x01) {
        status_ |= kReady;
        cycle_ = 0;
      } else {
        read_array();
      }
      return std::nullopt;
    default:
      read_array();
      return std::nullopt;
  }
}

std::optional<Change> CfiFlash::write(uint64_t offset, unsigned size, uint64_t value) {
  ++stats_.writes;
  if (!inside(offset, size)) return std::nullopt;
  return cycle_ == 0 ? first_cycle(offset, static_cast<uint8_t>(value)) : second_cycle(offset, size, value);
}

bool sync_before_completing(bool is_read, const CfiFlash& flash) { return is_read || !flash.in_program_sequence(); }

}  // namespace pflash
