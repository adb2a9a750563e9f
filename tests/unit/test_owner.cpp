// Owner records: a record is an orphan exactly when the process that wrote it is gone, however
// it died. Real processes, real locks, a temporary directory (destroying domains is tested on
// real Xen by the pvhboot-reap job).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "loader/owner.hpp"

using namespace loader;

namespace {
struct Dir {
  std::string path;
  Dir() {
    char t[] = "/tmp/pvhboot-owner-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~Dir() { std::filesystem::remove_all(path); }
};
OwnerInfo info(uint32_t domid) {
  OwnerInfo i;
  i.domid = domid;
  for (size_t k = 0; k < 16; ++k) i.handle[k] = static_cast<uint8_t>(domid + k);
  i.name = "guest-" + std::to_string(domid);
  i.pid = ::getpid();
  return i;
}
}  // namespace

TEST_CASE("a live owner's record is not an orphan; its record goes away with it") {
  Dir d;
  {
    auto r = OwnerRecord::create(d.path, info(7));
    REQUIRE(r);
    CHECK(std::filesystem::exists(d.path + "/7"));
    CHECK(find_orphans(d.path).empty());  // we hold its lock (flock locks are per open file)
  }
  CHECK_FALSE(std::filesystem::exists(d.path + "/7"));
}

TEST_CASE("the record of a process killed with SIGKILL is an orphan, with what was recorded") {
  Dir d;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  if (child == 0) {
    auto r = OwnerRecord::create(d.path, info(12));
    char c = r ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  CHECK(find_orphans(d.path).empty());  // alive: locked
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  auto orphans = find_orphans(d.path);
  REQUIRE(orphans.size() == 1);
  CHECK(orphans[0].info.domid == 12);
  CHECK(orphans[0].info.handle == info(12).handle);
  CHECK(orphans[0].info.name == "guest-12");
  CHECK(orphans[0].info.pid == child);
  forget(orphans[0]);
  CHECK_FALSE(std::filesystem::exists(d.path + "/12"));
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_CASE("what is not a record is left alone") {
  Dir d;
  std::filesystem::create_directory(d.path + "/5");  // a directory
  {
    std::FILE* f = std::fopen((d.path + "/6").c_str(), "w");
    std::fputs("garbage\n", f);
    std::fclose(f);
  }  // no domid/handle
  {
    std::FILE* f = std::fopen((d.path + "/notes").c_str(), "w");
    std::fclose(f);
  }  // not a number
  CHECK(find_orphans(d.path).empty());
  CHECK(find_orphans(d.path + "/missing").empty());
  CHECK(handle_text(info(0).handle) == "000102030405060708090a0b0c0d0e0f");
}
