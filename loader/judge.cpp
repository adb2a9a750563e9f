#include "loader/judge.hpp"

namespace loader {

elfwrap::Expected<Judge> Judge::make(const std::vector<std::string>& expect, const std::vector<std::string>& fail_on, double timeout_s) {
  Judge j;
  j.timeout_ = timeout_s;
  try {
    for (const auto& r : expect) {
      j.expect_.emplace_back(r, std::regex::extended);
      j.seen_.push_back({r, -1});
    }
    for (const auto& r : fail_on) j.fail_on_.emplace_back(r, std::regex::extended);
  } catch (const std::regex_error& e) {
    return elfwrap::plain_error(std::string("bad regular expression (POSIX extended, as grep -E): ") + e.what());
  }
  return j;
}

void Judge::decide(Outcome o, std::string reason) {
  if (done()) return;  // the first verdict stands
  outcome_ = o;
  reason_ = std::move(reason);
}

void Judge::line(const std::string& /*source*/, const std::string& text, double t) {
  if (done()) return;
  if (first_output_ < 0) first_output_ = t;
  for (const auto& f : fail_on_)
    if (std::regex_search(text, f)) return decide(Outcome::fail, "forbidden line: " + text);
  bool all = !seen_.empty();
  for (size_t i = 0; i < seen_.size(); ++i) {
    if (seen_[i].at < 0 && std::regex_search(text, expect_[i])) seen_[i].at = t;
    all = all && seen_[i].at >= 0;
  }
  if (all) decide(Outcome::pass, {});
}

void Judge::tick(double t) {
  if (done() || t < timeout_) return;
  if (seen_.empty()) return decide(Outcome::pass, {});  // nothing expected: it kept running
  std::string missing;
  for (const auto& s : seen_)
    if (s.at < 0) missing += (missing.empty() ? "'" : ", '") + s.regex + "'";
  decide(Outcome::fail, "timeout after " + std::to_string(static_cast<int>(timeout_)) + " s: not seen: " + missing);
}

void Judge::domain_stopped(const std::string& how) { decide(Outcome::fail, "the domain " + how + " before the verdict"); }

void Judge::broken(const std::string& what) { decide(Outcome::fail, what); }

void Judge::interrupted(int signal) { decide(Outcome::fail, "interrupted by signal " + std::to_string(signal)); }

}  // namespace loader
