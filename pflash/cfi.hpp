// A CFI-01 (Intel/Sharp command set) NOR flash, the device OVMF's QemuFlashFvbServices driver
// programs: a pure state machine over the flash contents, with no I/O. The Xen glue
// (pflash/emulator.hpp) feeds it the guest's MMIO accesses and persists what it reports.
//
// The model follows QEMU's pflash_cfi01 (hw/block/pflash_cfi01.c), which OVMF is developed
// against, for the commands OVMF uses:
//   0xff / 0x00 / 0xf0  read array: reads return the contents
//   0x70                read status: reads return the status register (0x80 ready)
//   0x50                clear status (then read array)
//   0x10 / 0x40, DATA   program: DATA is written at its address (as QEMU does, not ANDed)
//   0x20 / 0x28, 0xd0   block erase: the block of the confirm's address becomes 0xff
//   0x90                read device ID;  0x60, 0xd0|0x01  block (un)lock: accepted, no effect
// Anything else sets the status error bits and returns to read array (QEMU's "error_flash").
// Unlike QEMU, which erases on the 0x20 cycle, the erase happens at the confirm (0xd0), as CFI
// specifies: a guest killed between the two cycles has lost nothing.
//
// Every access is bounds-checked against the flash: an offset or size outside it is ignored
// (reads return all ones), so guest-controlled input never reaches outside the store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace pflash {

// What a write changed, for the caller to persist before it completes the guest's access.
struct Change {
  uint64_t offset = 0, length = 0;  // inside the flash
};

struct Stats {
  uint64_t reads = 0, writes = 0, programs = 0, erases = 0, errors = 0;
};

// When what was programmed must be durable. The CFI protocol gives the guest no way to learn that
// a program finished other than reading (the status register, or the array after 0xff), and
// OVMF's QemuFlashWrite programs byte after byte (0x10, DATA, 0x10, DATA, ...) and ends with a
// read-array command, without reading in between. So the emulator writes each program to the
// file as it comes, and syncs before it completes any request other than a write that leaves the
// flash in a program sequence: a read, a read-array or status command, an erase (synced at its
// confirm, so an erase is durable before any program that follows it). A QemuFlashWrite, and so a
// SetVariable, never returns before its bytes are on disk, and one sync covers a whole write
// instead of one per byte.
class CfiFlash;
bool sync_before_completing(bool is_read, const CfiFlash& flash);

class CfiFlash {
 public:
  // `contents`: the flash (its size a multiple of `block_size`, a power of two).
  CfiFlash(std::vector<uint8_t> contents, uint64_t block_size);

  // A guest access of `size` bytes (1, 2, 4 or 8) at `offset`, little-endian.
  uint64_t read(uint64_t offset, unsigned size);
  std::optional<Change> write(uint64_t offset, unsigned size, uint64_t value);

  std::span<const uint8_t> contents() const { return data_; }
  uint8_t status() const { return status_; }
  bool in_read_array() const { return cycle_ == 0 && mode_ == 0x00; }
  // In a run of byte programs: a program command (0x10/0x40) awaits its data, or the last write
  // was a program's data and no other command came since (reads would return the status).
  bool in_program_sequence() const { return mode_ == 0x10 || mode_ == 0x40; }
  const Stats& stats() const { return stats_; }

 private:
  bool inside(uint64_t offset, unsigned size) const;
  std::optional<Change> first_cycle(uint64_t offset, uint8_t cmd);
  std::optional<Change> second_cycle(uint64_t offset, unsigned size, uint64_t value);
  void read_array();
  void error(uint8_t bits);

  std::vector<uint8_t> data_;
  uint64_t block_size_;
  uint8_t mode_ = 0x00;  // the command that decides what reads return
  int cycle_ = 0;        // 1: the command awaits its second cycle
  uint8_t status_ = 0x80;
  Stats stats_;
};

}  // namespace pflash
