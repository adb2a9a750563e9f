#include "elfwrap/file_io.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <tuple>
#include <utility>

namespace elfwrap {
namespace {

Error io_error(const std::string& file, const std::string& what) {
  Error e = plain_error(what + ": " + std::strerror(errno));
  e.file = file;
  return e;
}

Error file_error(const std::string& file, std::string what) {
  Error e = plain_error(std::move(what));
  e.file = file;
  return e;
}

const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

// Opens an input for reading without blocking on it (a FIFO would wait for a writer forever);
// a file descriptor on a regular file (st filled in), or the error the user sees.
Expected<int> open_regular(const std::string& path, struct stat& st) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return io_error(path, "cannot open");
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const mode_t m = st.st_mode;
    ::close(fd);
    return file_error(path, std::string("not a regular file (") + kind_of(m) + ")");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

// ---- temporary names, removed on SIGINT/SIGTERM/SIGHUP -------------------------------------
// A fixed table the signal handler can walk without allocating (unlinkat is async-signal-safe).
struct TempName {
  volatile sig_atomic_t used = 0;
  int dirfd = -1;
  char name[32] = {};
};
std::array<TempName, 32> g_temps;
constexpr int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP};

extern "C" void on_fatal_signal(int sig) {
  for (auto& t : g_temps)
    if (t.used) ::unlinkat(t.dirfd, t.name, 0);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_cleanup() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : kCleanupSignals) {
    struct sigaction old {};
    ::sigaction(s, nullptr, &old);
    if (old.sa_handler == SIG_DFL) ::sigaction(s, &sa, nullptr);  // never override a caller's
  }
}

// Registers a name; the slot index, or -1 when the table is full (then the name is unregistered
// and only ordinary clean-up removes it).
int register_temp(int dirfd, const std::string& name) {
  install_cleanup();
  for (size_t i = 0; i < g_temps.size(); ++i) {
    if (g_temps[i].used) continue;
    g_temps[i].dirfd = dirfd;
    std::snprintf(g_temps[i].name, sizeof g_temps[i].name, "%s", name.c_str());
    g_temps[i].used = 1;
    return static_cast<int>(i);
  }
  return -1;
}
void unregister_temp(int slot) {
  if (slot >= 0) g_temps[static_cast<size_t>(slot)].used = 0;
}

// Signals that would kill us are held back while outputs are moved into place.
struct BlockSignals {
  sigset_t old{};
  BlockSignals() {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : kCleanupSignals) sigaddset(&s, sig);
    ::sigprocmask(SIG_BLOCK, &s, &old);
  }
  ~BlockSignals() { ::sigprocmask(SIG_SETMASK, &old, nullptr); }
};

std::string random_name(const char* prefix) {
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::array<unsigned char, 8> r{};
  if (::getrandom(r.data(), r.size(), 0) != static_cast<ssize_t>(r.size()))
    for (auto& c : r) c = static_cast<unsigned char>(std::rand());
  std::string s = prefix;
  for (unsigned char c : r) s.push_back(chars[c % (sizeof chars - 1)]);
  return s;
}

// ---- outputs -------------------------------------------------------------------------------
struct Dest {
  std::string shown;  // the path as the user gave it (for messages)
  std::string path;   // after symbolic links
  std::string dir, name;
  int dirfd = -1;
  bool exists = false;
  struct stat st {};
  FileId id;
};

std::pair<std::string, std::string> split(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// Where an output goes: a symbolic link is followed, anything but a regular file refused.
Expected<Dest> resolve(const std::string& shown) {
  Dest d;
  d.shown = shown;
  d.path = shown;
  struct stat st {};
  if (::lstat(shown.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    char* real = ::realpath(shown.c_str(), nullptr);
    if (!real) return io_error(shown, "cannot follow the symbolic link");
    d.path = real;
    std::free(real);
  }
  if (::stat(d.path.c_str(), &d.st) == 0) {
    if (!S_ISREG(d.st.st_mode))
      return file_error(shown, std::string("not a regular file (") + kind_of(d.st.st_mode) +
                                   "): outputs are replaced atomically, which would destroy it; give a regular file");
    d.exists = true;
    d.id = FileId{d.st.st_dev, d.st.st_ino, {}};
  } else if (errno != ENOENT) {
    return io_error(shown, "cannot look at the output");
  }
  std::tie(d.dir, d.name) = split(d.path);
  if (d.name.empty() || d.name == "." || d.name == "..") return file_error(shown, "not a file name");
  d.dirfd = ::open(d.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.dirfd < 0) return io_error(shown, "cannot open the directory '" + d.dir + "'");
  if (!d.exists) {
    struct stat ds {};
    ::fstat(d.dirfd, &ds);
    d.id = FileId{ds.st_dev, ds.st_ino, d.name};
  }
  return d;
}

mode_t new_file_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

struct Staged {
  int fd = -1;
  std::string temp;  // a named temporary (no O_TMPFILE), or empty
  int slot = -1;
};

bool have_proc_fd() { return ::access("/proc/self/fd", X_OK) == 0; }

// An anonymous file in the destination directory, or a named temporary where there is none.
Expected<Staged> create_staging(const Dest& d, mode_t mode) {
  Staged s;
  if (have_proc_fd()) {
    s.fd = ::openat(d.dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (s.fd >= 0) return s;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
      return io_error(d.shown, "cannot create a temporary file in '" + d.dir + "'");
  }
  for (int tries = 0; tries < 100 && s.fd < 0; ++tries) {
    s.temp = random_name(".elfwrap-");
    s.slot = register_temp(d.dirfd, s.temp);
    s.fd = ::openat(d.dirfd, s.temp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
    if (s.fd < 0) {
      unregister_temp(s.slot);
      if (errno != EEXIST) return io_error(d.shown, "cannot create a temporary file in '" + d.dir + "'");
    }
  }
  if (s.fd < 0) return io_error(d.shown, "cannot create a temporary file in '" + d.dir + "'");
  return s;
}

void discard(const Dest& d, Staged& s) {
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  if (!s.temp.empty()) ::unlinkat(d.dirfd, s.temp.c_str(), 0);
  unregister_temp(s.slot);
  s.temp.clear();
}

Status write_all(int fd, const OutputFile& out, const std::string& shown) {
  for (const auto& piece : out.pieces) {
    size_t done = 0;
    while (done < piece.size()) {
      const ssize_t n = ::write(fd, piece.data() + done, piece.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return io_error(shown, "write failed");
      done += static_cast<size_t>(n);
    }
  }
  return ok();
}

Expected<Staged> stage(const Dest& d, const OutputFile& out) {
  const mode_t mode = d.exists ? (d.st.st_mode & 07777) : new_file_mode();
  EW_TRY(Staged s, create_staging(d, mode));
  auto st = write_all(s.fd, out, d.shown);
  if (st && d.exists) (void)!::fchown(s.fd, d.st.st_uid, d.st.st_gid);  // when we may; before fchmod (chown clears set-id bits)
  if (st && (::fchmod(s.fd, mode) != 0 || ::fsync(s.fd) != 0)) st = io_error(d.shown, "cannot complete the temporary file");
  if (!st) {
    discard(d, s);
    return st.take_error();
  }
  return s;
}

// Gives an anonymous staged file a temporary name (registered for clean-up).
Status name_staged(const Dest& d, Staged& s) {
  const std::string proc = "/proc/self/fd/" + std::to_string(s.fd);
  for (int tries = 0; tries < 100; ++tries) {
    const std::string name = random_name(".elfwrap-");
    const int slot = register_temp(d.dirfd, name);
    if (::linkat(AT_FDCWD, proc.c_str(), d.dirfd, name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      s.temp = name;
      s.slot = slot;
      return ok();
    }
    unregister_temp(slot);
    if (errno != EEXIST) break;
  }
  return io_error(d.shown, "cannot name the temporary file in '" + d.dir + "'");
}

// A hard link to the file being replaced, to put it back if a later output fails.
std::optional<std::pair<std::string, int>> backup(const Dest& d) {
  for (int tries = 0; tries < 100; ++tries) {
    const std::string name = random_name(".elfwrap-old-");
    const int slot = register_temp(d.dirfd, name);
    if (::linkat(d.dirfd, d.name.c_str(), d.dirfd, name.c_str(), 0) == 0) return std::make_pair(name, slot);
    unregister_temp(slot);
    if (errno != EEXIST) break;
  }
  return std::nullopt;  // no hard links here: this output cannot be rolled back
}

struct Committed {
  std::optional<std::pair<std::string, int>> old;  // the backup of the replaced file
};

// Moves one staged output into place.
Status commit_one(const Dest& d, Staged& s, Committed& c) {
  if (d.exists) c.old = backup(d);
  if (s.temp.empty() && !d.exists) {  // nothing there: link the anonymous file in directly
    const std::string proc = "/proc/self/fd/" + std::to_string(s.fd);
    if (::linkat(AT_FDCWD, proc.c_str(), d.dirfd, d.name.c_str(), AT_SYMLINK_FOLLOW) == 0) return ok();
    if (errno != EEXIST) return io_error(d.shown, "cannot create the output");
  }
  if (s.temp.empty()) EW_CHECK(name_staged(d, s));
  if (::renameat(d.dirfd, s.temp.c_str(), d.dirfd, d.name.c_str()) != 0)
    return io_error(d.shown, "cannot move the temporary file into place");
  unregister_temp(s.slot);
  s.temp.clear();
  return ok();
}

void roll_back(const Dest& d, Committed& c) {
  if (c.old) {
    ::renameat(d.dirfd, c.old->first.c_str(), d.dirfd, d.name.c_str());
    unregister_temp(c.old->second);
  } else if (!d.exists) {
    ::unlinkat(d.dirfd, d.name.c_str(), 0);
  }
}

Status commit_all(std::vector<Dest>& dests, std::vector<Staged>& staged) {
  BlockSignals hold;
  std::vector<Committed> done(dests.size());
  for (size_t i = 0; i < dests.size(); ++i) {
    auto st = commit_one(dests[i], staged[i], done[i]);
    if (!st) {
      for (size_t k = 0; k < i; ++k) roll_back(dests[k], done[k]);
      if (done[i].old) {
        ::unlinkat(dests[i].dirfd, done[i].old->first.c_str(), 0);
        unregister_temp(done[i].old->second);
      }
      return st;
    }
  }
  for (size_t i = 0; i < dests.size(); ++i) {
    if (done[i].old) {
      ::unlinkat(dests[i].dirfd, done[i].old->first.c_str(), 0);
      unregister_temp(done[i].old->second);
    }
    ::fsync(dests[i].dirfd);
  }
  return ok();
}

struct DirFds {
  std::vector<Dest>& dests;
  ~DirFds() {
    for (auto& d : dests)
      if (d.dirfd >= 0) ::close(d.dirfd);
  }
};

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

MappedFile::MappedFile(MappedFile&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

Expected<std::vector<std::byte>> read_file(const std::string& path, uint64_t max_size) {
  struct stat st {};
  EW_TRY(const int fd, open_regular(path, st));
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    ::close(fd);
    return file_error(path, "file size " + hex(st.st_size) + " is larger than any firmware image (" + hex(max_size) + ")");
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

Expected<FileId> file_id(const std::string& path) {
  EW_TRY(Dest d, resolve(path));
  ::close(d.dirfd);
  return d.id;
}

Status write_files_atomic(const std::vector<OutputFile>& outs) {
  std::vector<Dest> dests;
  DirFds close_dirs{dests};
  for (const auto& o : outs) {
    EW_TRY(Dest d, resolve(o.path));
    for (const auto& other : dests)
      if (other.id == d.id)
        return file_error(o.path, "names the same file as the output '" + other.shown + "': each output needs a file of its own");
    dests.push_back(std::move(d));
  }
  std::vector<Staged> staged;
  for (size_t i = 0; i < outs.size(); ++i) {
    auto s = stage(dests[i], outs[i]);
    if (!s) {
      for (size_t k = 0; k < staged.size(); ++k) discard(dests[k], staged[k]);
      return s.take_error();
    }
    staged.push_back(*s);
  }
  // Test hook: stop with every output staged and none in place (tests send signals here).
  if (std::getenv("ELFWRAP_TEST_STOP_BEFORE_COMMIT")) ::raise(SIGSTOP);
  auto st = commit_all(dests, staged);
  for (size_t k = 0; k < staged.size(); ++k) discard(dests[k], staged[k]);
  return st;
}

Status write_file_atomic(const std::string& path, std::span<const std::byte> data) {
  return write_files_atomic({OutputFile{path, {data}}});
}

}  // namespace elfwrap
