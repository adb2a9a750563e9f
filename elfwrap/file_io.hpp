// File effects: whole-file reads, and atomic writes (temp file in the destination
// directory, fsync, rename, fsync of the directory). Errors as values.
#pragma once

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

// Writes `data` to `path` atomically: either the old file (or nothing) or all of `data`.
Status write_file_atomic(const std::string& path, std::span<const std::byte> data);

// The same for several outputs that belong together: every file is written to a temp file
// first, and only when all of them are complete are they renamed into place.
struct OutputFile {
  std::string path;
  std::vector<std::span<const std::byte>> pieces;  // written one after the other
};
Status write_files_atomic(const std::vector<OutputFile>& outs);

}  // namespace elfwrap
