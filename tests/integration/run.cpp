#include "tests/integration/run.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace it {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fx::Bytes read_bytes(const std::string& path) {
  const std::string s = read_text(path);
  fx::Bytes b(s.size());
  for (size_t i = 0; i < s.size(); ++i) b[i] = std::byte(static_cast<uint8_t>(s[i]));
  return b;
}

void write_bytes(const std::string& path, const fx::Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

size_t count_entries(const std::string& dir) {
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir); it != std::filesystem::directory_iterator(); ++it) ++n;
  return n;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "elfwrap-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(dir_, ec);
}

namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::string& out, const std::string& err,
            const std::vector<std::string>& env = {}) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int n = ::open("/dev/null", O_RDONLY);
    ::dup2(n, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::setpgid(0, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

Watch run_until(const std::vector<std::string>& argv, const std::string& needle, int timeout_s) {
  TempDir t;
  const std::string out = t.path("out");
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = spawn(argv, out, t.path("err"));
  Watch w;
  int st = 0;
  while (::waitpid(pid, &st, WNOHANG) == 0) {
    w.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (read_text(out).find(needle) != std::string::npos) {
      w.found = true;
      break;
    }
    if (w.seconds > timeout_s) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, &st, 0);
  w.out = read_text(out);
  return w;
}

Result run(const std::vector<std::string>& argv, int timeout_s) {
  TempDir t;
  const std::string out = t.path("out"), err = t.path("err");
  const pid_t pid = spawn(argv, out, err);
  Result r;
  int st = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (::waitpid(pid, &st, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

Child::Child(const std::vector<std::string>& argv, const std::vector<std::string>& env)
    : pid(spawn(argv, dir.path("out"), dir.path("err"), env)) {}

Child::~Child() {
  if (pid > 0) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
}

bool Child::wait_stopped(int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int st = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t r = ::waitpid(pid, &st, WNOHANG | WUNTRACED);
    if (r == pid && WIFSTOPPED(st)) return true;
    if (r == pid) {  // ended without stopping
      status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      pid = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

int Child::finish() {
  int st = 0;
  if (pid > 0 && ::waitpid(pid, &st, 0) == pid) status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  pid = -1;
  return status;
}

std::string Child::err() const { return read_text(dir.path("err")); }

std::string elfwrap_bin() { return ELFWRAP_BIN; }
std::string mkfixture_bin() { return MKFIXTURE_BIN; }

std::string fixture(const TempDir& t, const std::string& kind) {
  const std::string p = t.path(kind + ".img");
  const Result r = run({mkfixture_bin(), kind, p});
  if (r.status != 0) throw std::runtime_error("mkfixture " + kind + ": " + r.err);
  return p;
}

}  // namespace it
