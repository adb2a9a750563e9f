#include "loader/owner.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <utility>

namespace loader {
namespace {

elfwrap::Error sys_error(const std::string& what) { return elfwrap::plain_error(what + ": " + std::strerror(errno)); }

bool write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string read_all(int fd) {
  std::string s;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && s.size() < 4096) s.append(buf, static_cast<size_t>(n));
  return s;
}

// "domid=N handle=HEX name=NAME pid=P", one field a line.
bool parse_record(const std::string& text, OwnerInfo& info) {
  std::istringstream in(text);
  std::string line;
  bool domid = false, handle = false;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "domid" && !v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 6) {
      info.domid = static_cast<uint32_t>(std::stoul(v));
      domid = true;
    } else if (k == "handle" && v.size() == 32 && v.find_first_not_of("0123456789abcdef") == std::string::npos) {
      for (size_t i = 0; i < 16; ++i) info.handle[i] = static_cast<uint8_t>(std::stoul(v.substr(2 * i, 2), nullptr, 16));
      handle = true;
    } else if (k == "name") {
      info.name = v;
    } else if (k == "pid" && !v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 10) {
      info.pid = std::stol(v);
    }
  }
  return domid && handle;
}

}  // namespace

std::string handle_text(const std::array<uint8_t, 16>& h) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : h) s += {digits[b >> 4], digits[b & 15]};
  return s;
}

elfwrap::Expected<OwnerRecord> OwnerRecord::create(const std::string& dir, const OwnerInfo& info) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("cannot create the owner directory '" + dir + "'");
  OwnerRecord r;
  r.path_ = dir + "/" + std::to_string(info.domid);
  // Locked before it has its name, so that no reaper ever sees it unlocked.
  const std::string tmp = r.path_ + ".new." + std::to_string(::getpid());
  r.fd_ = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (r.fd_ < 0) return sys_error("cannot create the owner record '" + tmp + "'");
  const std::string text = "domid=" + std::to_string(info.domid) + "\nhandle=" + handle_text(info.handle) + "\nname=" + info.name +
                           "\npid=" + std::to_string(info.pid) + "\n";
  if (::flock(r.fd_, LOCK_EX) != 0 || !write_all(r.fd_, text) || ::rename(tmp.c_str(), r.path_.c_str()) != 0) {
    auto e = sys_error("cannot write the owner record '" + r.path_ + "'");
    ::unlink(tmp.c_str());
    return e;
  }
  return r;
}

OwnerRecord::OwnerRecord(OwnerRecord&& o) noexcept : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)) {}

OwnerRecord::~OwnerRecord() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());
  ::close(fd_);
}

std::vector<Orphan> find_orphans(const std::string& dir) {
  std::vector<Orphan> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) continue;  // records only
    Orphan o;
    o.path = dir + "/" + n;
    o.fd = ::open(o.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (o.fd < 0) continue;
    struct stat st {};
    if (::fstat(o.fd, &st) != 0 || !S_ISREG(st.st_mode) || ::flock(o.fd, LOCK_EX | LOCK_NB) != 0 || !parse_record(read_all(o.fd), o.info)) {
      ::close(o.fd);  // alive (locked), or not ours to judge
      continue;
    }
    out.push_back(std::move(o));
  }
  ::closedir(d);
  return out;
}

void forget(Orphan& o) {
  if (o.fd < 0) return;
  ::unlink(o.path.c_str());
  ::close(o.fd);
  o.fd = -1;
}

}  // namespace loader
