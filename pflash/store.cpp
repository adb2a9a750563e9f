#include "pflash/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "elfwrap/compat.hpp"
#include "elfwrap/elf_consts.hpp"
#include "elfwrap/layout.hpp"

namespace pflash {
namespace {

using elfwrap::hex;
using elfwrap::plain_error;

elfwrap::Error file_error(const std::string& path, const std::string& what) {
  elfwrap::Error e = plain_error(what);
  e.file = path;
  return e;
}

// The size of the firmware's flash device: a raw image's size, or a wrapped one's PT_LOAD.
uint64_t fd_size(const elfwrap::Image& fw) {
  if (fw.elf)
    for (const auto& s : fw.elf->segments)
      if (s.type == elfwrap::elf::kPtLoad && s.filesz) return s.memsz;
  return fw.size;
}

}  // namespace

elfwrap::Expected<StorePlan> plan_store(const elfwrap::Image& vars, const elfwrap::Image* firmware, std::optional<uint64_t> base) {
  StorePlan p;
  const elfwrap::NvStore* nv = vars.nvstore ? &*vars.nvstore : nullptr;
  if (!nv || !nv->fv_present || !nv->layout || vars.volumes.size() != 1 || vars.size != nv->layout->region_size)
    return plain_error(
        "not a VARS file: expected exactly one NV volume of an OVMF layout (0x20000 or 0x84000) and nothing else "
        "(make one with `elfwrap vars blank --layout ...` or `elfwrap vars extract`)");
  p.size = vars.size;
  p.layout = nv->layout;
  if (firmware) {
    const elfwrap::CompatReport fit = elfwrap::check_vars(*firmware, vars);
    if (!fit.ok()) return plain_error("does not fit the firmware (elfwrap vars check): " + fit.differences.front());
    const uint64_t fd = fd_size(*firmware);
    if (fd == 0 || fd > elfwrap::k4GiB - elfwrap::kMmioHoleStart) return plain_error("firmware of " + hex(fd) + " bytes is no flash image");
    p.base = elfwrap::k4GiB - fd;
    p.facts.push_back("the firmware's flash is " + hex(fd) + " bytes: the store is at its base " + hex(p.base));
  } else if (base) {
    p.base = *base;
  } else {
    return plain_error("give the firmware (--firmware) or the flash's address (--base)");
  }
  const uint64_t end = p.base + p.size;
  if (p.base % elfwrap::kPage || p.base < elfwrap::kMmioHoleStart || end > elfwrap::k4GiB)
    return plain_error("flash at [" + hex(p.base) + ", " + hex(end) + ") is not 4 KiB aligned inside the MMIO hole [0xfc000000, 4 GiB)");
  if (elfwrap::overlaps(p.base, end, elfwrap::kSpecialPagesStart, elfwrap::kSpecialPagesEnd) ||
      elfwrap::overlaps(p.base, end, elfwrap::kLapicBase, elfwrap::kLapicBase + elfwrap::kPage))
    return plain_error("flash at [" + hex(p.base) + ", " + hex(end) + ") overlaps the local APIC or Xen's special pages");
  p.facts.push_back(std::string("VARS: ") + p.layout->name + " layout, " + std::to_string(nv->live_variables()) + " live variable(s)");
  return p;
}

elfwrap::Expected<VarsFile> VarsFile::open(const std::string& path, double lock_wait_s) {
  VarsFile f;
  f.path_ = path;
  f.fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (f.fd_ < 0) return file_error(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd_, &st) != 0 || !S_ISREG(st.st_mode)) return file_error(path, "not a regular file");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(lock_wait_s);
  while (::flock(f.fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline)
      return file_error(path, "in use: another xen-pflash holds it (a store serves one domain at a time)");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (st.st_size > (16 << 20)) return file_error(path, "file of " + hex(st.st_size) + " bytes is larger than any VARS file");
  f.bytes_.resize(static_cast<size_t>(st.st_size));
  if (::pread(f.fd_, f.bytes_.data(), f.bytes_.size(), 0) != static_cast<ssize_t>(f.bytes_.size()))
    return file_error(path, std::string("cannot read: ") + std::strerror(errno));
  return f;
}

VarsFile::VarsFile(VarsFile&& o) noexcept
    : path_(std::move(o.path_)),
      fd_(std::exchange(o.fd_, -1)),
      bytes_(std::move(o.bytes_)),
      unsynced_(o.unsynced_),
      syncs_(o.syncs_),
      sync_ms_(o.sync_ms_) {}

VarsFile::~VarsFile() {
  if (fd_ >= 0) {
    if (unsynced_) ::fdatasync(fd_);  // what an error path left unsynced still goes to disk
    ::close(fd_);                     // releases the lock
  }
}

elfwrap::Status VarsFile::write(const Change& c, std::span<const uint8_t> contents) {
  if (c.offset > contents.size() || c.length > contents.size() - c.offset) return file_error(path_, "change outside the store");
  size_t done = 0;
  while (done < c.length) {
    const ssize_t n = ::pwrite(fd_, contents.data() + c.offset + done, c.length - done, static_cast<off_t>(c.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return file_error(path_, std::string("write failed: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  unsynced_ = true;
  return elfwrap::ok();
}

elfwrap::Status VarsFile::sync() {
  if (!unsynced_) return elfwrap::ok();
  const auto t0 = std::chrono::steady_clock::now();
  if (::fdatasync(fd_) != 0) return file_error(path_, std::string("fdatasync failed: ") + std::strerror(errno));
  sync_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  unsynced_ = false;
  ++syncs_;
  return elfwrap::ok();
}

}  // namespace pflash
