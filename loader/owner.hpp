// Who owns a domain pvhboot created. pvhboot always destroys its domain, except when it cannot
// run any more code (SIGKILL, a crash, the OOM killer). For those cases it leaves a record: one
// file per domain in a directory (default /run/pvhboot, a tmpfs: gone when dom0 reboots, like
// the domains), holding the domain id, its handle (the UUID pvhboot gave it at creation), its
// name and pvhboot's pid, and locked (flock, exclusive) by pvhboot for as long as it lives. The
// kernel drops the lock when the owner dies, whatever killed it; so a record whose lock can be
// taken is an orphan, and `pvhboot reap` (also run by every `pvhboot run`) destroys its domain
// if it still has the recorded handle, then removes the record. Guests cannot reach the records
// (they are in dom0's file system, not in xenstore).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "elfwrap/error.hpp"

namespace loader {

inline constexpr const char* kDefaultOwnerDir = "/run/pvhboot";

struct OwnerInfo {
  uint32_t domid = 0;
  std::array<uint8_t, 16> handle{};
  std::string name;
  long pid = 0;
};

// The record of a domain this process owns; removed when it goes out of scope (after the domain).
class OwnerRecord {
 public:
  static elfwrap::Expected<OwnerRecord> create(const std::string& dir, const OwnerInfo& info);
  OwnerRecord(OwnerRecord&& o) noexcept;
  OwnerRecord& operator=(OwnerRecord&&) = delete;
  ~OwnerRecord();
  const std::string& path() const { return path_; }

 private:
  OwnerRecord() = default;
  std::string path_;
  int fd_ = -1;
};

// A record nobody holds: its owner is gone. Its lock is held by us until forget().
struct Orphan {
  OwnerInfo info;
  std::string path;
  int fd = -1;
};
// Every orphan in `dir` (none when it does not exist); records it cannot read are skipped.
std::vector<Orphan> find_orphans(const std::string& dir);
void forget(Orphan& o);  // removes the record and drops the lock

std::string handle_text(const std::array<uint8_t, 16>& h);  // 32 hex digits

}  // namespace loader
