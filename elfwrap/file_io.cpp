#include "elfwrap/file_io.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace elfwrap {
namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Error io_error(const std::string& file, const std::string& what) {
  Error e = plain_error(what + ": " + std::strerror(errno));
  e.file = file;
  return e;
}

struct Temp {
  std::string path;
  std::string final_path;
};

Expected<Temp> write_temp(const OutputFile& out) {
  Temp t{out.path + ".elfwrap-tmp-XXXXXX", out.path};
  std::vector<char> name(t.path.begin(), t.path.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return io_error(out.path, "cannot create a temporary file in '" + dir_of(out.path) + "'");
  t.path = name.data();
  for (const auto& piece : out.pieces) {
    size_t done = 0;
    while (done < piece.size()) {
      const ssize_t n = ::write(fd, piece.data() + done, piece.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Error e = io_error(out.path, "write failed");
        ::close(fd);
        ::unlink(t.path.c_str());
        return e;
      }
      done += static_cast<size_t>(n);
    }
  }
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0 || ::close(fd) != 0) {
    Error e = io_error(out.path, "cannot complete the temporary file");
    ::unlink(t.path.c_str());
    return e;
  }
  return t;
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Opens an input for reading; a file descriptor on a regular file (st filled in), or the error
// the user sees for it.
Expected<int> open_regular(const std::string& path, struct stat& st) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error(path, "cannot open");
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    Error e = plain_error("not a regular file");
    e.file = path;
    return e;
  }
  return fd;
}

}  // namespace

Expected<MappedFile> MappedFile::open(const std::string& path) {
  struct stat st {};
  EW_TRY(const int fd, open_regular(path, st));
  MappedFile m;
  m.size_ = static_cast<size_t>(st.st_size);
  if (m.size_) {
    void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      Error e = io_error(path, "cannot map");
      ::close(fd);
      return e;
    }
    m.data_ = static_cast<const std::byte*>(p);
  }
  ::close(fd);
  return m;
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

Expected<std::vector<std::byte>> read_file(const std::string& path, uint64_t max_size) {
  struct stat st {};
  EW_TRY(const int fd, open_regular(path, st));
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    ::close(fd);
    Error e = plain_error("file size " + hex(st.st_size) + " is larger than any firmware image (" + hex(max_size) + ")");
    e.file = path;
    return e;
  }
  std::vector<std::byte> data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Error e = io_error(path, "read failed");
      ::close(fd);
      return e;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return data;
}

Status write_files_atomic(const std::vector<OutputFile>& outs) {
  std::vector<Temp> temps;
  for (const auto& o : outs) {
    auto t = write_temp(o);
    if (!t) {
      for (const auto& done : temps) ::unlink(done.path.c_str());
      return t.take_error();
    }
    temps.push_back(*t);
  }
  for (size_t i = 0; i < temps.size(); ++i) {
    if (::rename(temps[i].path.c_str(), temps[i].final_path.c_str()) != 0) {
      Error e = io_error(temps[i].final_path, "cannot rename the temporary file into place");
      for (size_t k = i; k < temps.size(); ++k) ::unlink(temps[k].path.c_str());
      return e;
    }
    fsync_dir(dir_of(temps[i].final_path));
  }
  return ok();
}

Status write_file_atomic(const std::string& path, std::span<const std::byte> data) {
  return write_files_atomic({OutputFile{path, {data}}});
}

}  // namespace elfwrap
