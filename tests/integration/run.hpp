// Helpers for tests that run real programs: the built tools and the real clients
// (UEFIExtract, QEMU, readnotes). Output goes through temp files, so no pipe can fill up.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tests/fixture/builder.hpp"

namespace it {

struct Result {
  int status = -1;  // exit status, or 128+signal
  std::string out, err;
};

Result run(const std::vector<std::string>& argv, int timeout_s = 120);
// Runs argv until its stdout contains `needle` (then kills it: found = true) or timeout_s.
struct Watch {
  bool found = false;
  double seconds = 0;
  std::string out;
};
Watch run_until(const std::vector<std::string>& argv, const std::string& needle, int timeout_s);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// A program started in the background (its own process group, extra environment variables),
// for tests that stop it or send it signals. Killed when it goes out of scope.
struct Child {
  TempDir dir;  // its stdout and stderr
  int pid = -1;
  int status = -1;
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  ~Child();
  bool wait_stopped(int timeout_s);  // true once it stopped itself (SIGSTOP)
  int finish();                      // waits for it; exit status, or 128+signal
  std::string err() const;
};

void write_bytes(const std::string& path, const fx::Bytes& b);
fx::Bytes read_bytes(const std::string& path);
std::string read_text(const std::string& path);
bool exists(const std::string& path);
// Number of entries in a directory (to check that no partial or temp output was left).
size_t count_entries(const std::string& dir);

std::string elfwrap_bin();
std::string mkfixture_bin();
// A fixture image written by the mkfixture tool.
std::string fixture(const TempDir& t, const std::string& kind);

}  // namespace it
