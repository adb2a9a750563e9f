// File effects: whole-file reads, and atomic writes of one or several outputs. Errors as values.
//
// Inputs must be regular files. They are opened without blocking (a FIFO or a device given as
// an input is refused at once, never waited on) and never modified.
//
// Outputs are replaced atomically: each is staged in an anonymous file in its destination
// directory (O_TMPFILE; where the file system lacks it, a ".elfwrap-XXXXXX" temporary name that
// SIGINT, SIGTERM and SIGHUP remove), written, fsynced, and only when every output of the command
// is complete are they moved into place, together: if one cannot be, those already moved are
// rolled back. What an output may be:
//   - a new file: created with mode 0666 minus the umask;
//   - an existing regular file: replaced; its mode (and owner, when we may) is kept;
//   - a symbolic link: the file it points to is replaced, the link stays;
//   - anything else (directory, device node, FIFO, socket): refused. Writing through a device
//     the way cp does would make the write non-atomic; replacing it would destroy the node.
// Two outputs of one command may not be the same file (compared by device and inode).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "elfwrap/error.hpp"

namespace elfwrap {

inline constexpr uint64_t kMaxInputSize = 64ull << 20;  // firmware images are a few MiB

Expected<std::vector<std::byte>> read_file(const std::string& path, uint64_t max_size = kMaxInputSize);

// A regular file mapped read-only (private): only the pages looked at are read, e.g. a kernel's
// ELF headers when the loader reads the file itself. Unmapped when it goes out of scope.
class MappedFile {
 public:
  static Expected<MappedFile> open(const std::string& path);
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  ~MappedFile();
  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  MappedFile() = default;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

// Which file a path names (after symbolic links): an existing file's device and inode, or, for
// a file that does not exist yet, its directory's device and inode plus its name. Two paths name
// the same file exactly when their FileIds are equal, whatever their spelling.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  std::string name;  // empty for an existing file
  bool operator==(const FileId&) const = default;
};
Expected<FileId> file_id(const std::string& path);

// Writes `data` to `path` atomically: either the old file (or nothing) or all of `data`.
Status write_file_atomic(const std::string& path, std::span<const std::byte> data);

// The same for several outputs that belong together: all are written, or none.
struct OutputFile {
  std::string path;
  std::vector<std::span<const std::byte>> pieces;  // written one after the other
};
Status write_files_atomic(const std::vector<OutputFile>& outs);

}  // namespace elfwrap
