// The VARS file behind an emulated flash: which one, where in the guest, and the file itself.
//   plan_store()  pure: is this a store the firmware can use, and at which guest address
//   VarsFile      the file, locked for one emulator at a time; changes written as they come, made
//                 durable (fdatasync) when the emulator says (cfi.hpp: sync_before_completing)
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "elfwrap/error.hpp"
#include "elfwrap/image.hpp"
#include "pflash/cfi.hpp"

namespace pflash {

struct StorePlan {
  uint64_t base = 0;  // guest-physical address of the flash (the firmware's FD base)
  uint64_t size = 0;  // the VARS file: the NV region
  const elfwrap::NvLayout* layout = nullptr;
  std::vector<std::string> facts;  // what was checked, for the log
};

// `vars`: the parsed VARS file. `firmware`: the firmware image it is for (raw or wrapped by
// elfwrap): the flash sits at its FD base, 4 GiB - its size, and the store must fit it as
// `elfwrap vars check` says. Without one, `base` says where (4 KiB aligned, in the MMIO hole).
elfwrap::Expected<StorePlan> plan_store(const elfwrap::Image& vars, const elfwrap::Image* firmware, std::optional<uint64_t> base);

class VarsFile {
 public:
  // Opens and locks `path` (flock, exclusive): a store serves one domain at a time. A lock held
  // by another process is waited for up to `lock_wait_s` seconds (an emulator whose domain was
  // just destroyed for a reboot is still exiting), then refused.
  static elfwrap::Expected<VarsFile> open(const std::string& path, double lock_wait_s);
  VarsFile(VarsFile&& o) noexcept;
  VarsFile& operator=(VarsFile&&) = delete;
  ~VarsFile();

  const std::vector<uint8_t>& bytes() const { return bytes_; }
  // Writes the changed bytes of `contents` to the file (pwrite: a killed emulator loses nothing).
  elfwrap::Status write(const Change& c, std::span<const uint8_t> contents);
  // Makes every write so far durable (fdatasync), if there was one since the last sync.
  elfwrap::Status sync();
  bool unsynced() const { return unsynced_; }
  uint64_t syncs() const { return syncs_; }
  double sync_ms() const { return sync_ms_; }  // time spent in those syncs

 private:
  VarsFile() = default;
  std::string path_;
  int fd_ = -1;
  std::vector<uint8_t> bytes_;
  bool unsynced_ = false;
  uint64_t syncs_ = 0;
  double sync_ms_ = 0;
};

}  // namespace pflash
