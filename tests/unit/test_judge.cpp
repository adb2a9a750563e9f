// pvhboot's judge: every verdict, from events alone (what happens on real Xen, replayed here).
#include <doctest/doctest.h>

#include "loader/judge.hpp"

using namespace loader;

namespace {
Judge make(std::vector<std::string> expect, std::vector<std::string> fail_on = {}, double timeout = 10) {
  auto j = Judge::make(expect, fail_on, timeout);
  REQUIRE(j);
  return std::move(*j);
}
}  // namespace

TEST_CASE("pass: every expected line, in any order, from either source") {
  Judge j = make({"UEFI Interactive Shell", "BdsDxe: loading"});
  j.line("xen", "(d1) BdsDxe: loading Boot0001", 1.5);
  CHECK(j.outcome() == Outcome::running);
  j.line("console", "UEFI Interactive Shell v2.2", 2.5);
  CHECK(j.outcome() == Outcome::pass);
  CHECK(j.reason().empty());
  CHECK(j.first_output() == 1.5);
  CHECK(j.expected()[0].at == 2.5);
  CHECK(j.expected()[1].at == 1.5);
  // After the verdict nothing changes it.
  j.line("console", "ASSERT", 3);
  j.domain_stopped("crashed");
  CHECK(j.outcome() == Outcome::pass);
}

TEST_CASE("fail: a fail-on line, even on the line that also matches an expect") {
  Judge j = make({"Shell"}, {"ASSERT|[Pp]age [Ff]ault"});
  j.line("xen", "(d3) ASSERT [XenPlatformPei] rsdp_paddr != 0", 0.7);
  CHECK(j.outcome() == Outcome::fail);
  CHECK(j.reason() == "forbidden line: (d3) ASSERT [XenPlatformPei] rsdp_paddr != 0");
  Judge k = make({"Shell"}, {"Shell> ASSERT"});
  k.line("console", "Shell> ASSERT", 1);
  CHECK(k.outcome() == Outcome::fail);
}

TEST_CASE("timeout: with an expect line it fails and says what was not seen; without, the guest kept running") {
  Judge j = make({"never", "seen"}, {}, 20);
  j.line("console", "seen it", 1);
  j.tick(19.9);
  CHECK(j.outcome() == Outcome::running);
  j.tick(20);
  CHECK(j.outcome() == Outcome::fail);
  CHECK(j.reason() == "timeout after 20 s: not seen: 'never'");
  Judge w = make({}, {"panic"}, 5);
  w.line("console", "all fine", 1);
  w.tick(5);
  CHECK(w.outcome() == Outcome::pass);
}

TEST_CASE("domain gone, broken console ring, interrupted: each a failure with its reason") {
  Judge a = make({"Shell"});
  a.domain_stopped("powered off");
  CHECK(a.reason() == "the domain powered off before the verdict");
  Judge b = make({});
  b.domain_stopped("crashed");
  CHECK(b.outcome() == Outcome::fail);  // without expect lines the guest must keep running
  Judge c = make({"Shell"});
  c.broken(
      "the guest's console ring is broken: out_prod 0x10000010 - out_cons 0x10 = 0x10000000 is more than the ring holds (0x800 bytes)");
  CHECK(c.outcome() == Outcome::fail);
  CHECK(c.reason().rfind("the guest's console ring is broken", 0) == 0);
  Judge d = make({"Shell"});
  d.interrupted(2);
  CHECK(d.reason() == "interrupted by signal 2");
}

TEST_CASE("the regex dialect is POSIX extended, the one the job rows use with grep -E") {
  Judge j = make({"PVH-OK cmdline=hello (world|there) mods=[0-9]+"});
  j.line("xen", "(d1) PVH-OK cmdline=hello there mods=1 mem=1", 1);
  CHECK(j.outcome() == Outcome::pass);
  // An ECMAScript-only form is not taken silently.
  CHECK_FALSE(Judge::make({"(?:x)"}, {}, 1));
  CHECK(Judge::make({"x\\(found 2\\)"}, {}, 1));  // the escaped parentheses a job row writes
}
