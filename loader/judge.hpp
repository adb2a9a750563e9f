// The verdict of a boot, from what the guest printed and what happened to it (pure: fed by the
// backend's events, unit-tested for every verdict). The same vocabulary as the real-Xen job rows
// (tests/xen/jobs.toml): `expect` lines that must all appear, `fail_on` lines that must not, a
// timeout, and POSIX extended regular expressions (grep -E) for both.
//
//   pass  every expect line appeared (without any: the guest kept running until the timeout)
//   fail  a fail_on line appeared; the timeout passed first; the domain stopped or vanished
//         before the verdict; its console ring was broken; pvhboot was interrupted
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "elfwrap/error.hpp"

namespace loader {

enum class Outcome { running, pass, fail };

class Judge {
 public:
  static elfwrap::Expected<Judge> make(const std::vector<std::string>& expect, const std::vector<std::string>& fail_on, double timeout_s);

  // A line the guest printed at time t (seconds since the start), from `source` ("console" or "xen").
  void line(const std::string& source, const std::string& text, double t);
  void tick(double t);                          // time passes (the timeout)
  void domain_stopped(const std::string& how);  // shut down, crashed or gone before a verdict
  void broken(const std::string& what);         // the guest broke the protocol (e.g. its console ring)
  void interrupted(int signal);

  Outcome outcome() const { return outcome_; }
  bool done() const { return outcome_ != Outcome::running; }
  const std::string& reason() const { return reason_; }  // why it failed; empty on a pass
  double first_output() const { return first_output_; }  // -1 when the guest printed nothing
  // Per expect line: the regex as given and when it was seen (-1: not seen).
  struct Seen {
    std::string regex;
    double at = -1;
  };
  const std::vector<Seen>& expected() const { return seen_; }

 private:
  void decide(Outcome o, std::string reason);
  std::vector<std::regex> expect_, fail_on_;
  std::vector<Seen> seen_;
  double timeout_ = 0, first_output_ = -1;
  Outcome outcome_ = Outcome::running;
  std::string reason_;
};

}  // namespace loader
