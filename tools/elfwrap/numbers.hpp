#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace elfwrap::cli {

// "0x100000", "1048576" or "1M"/"1MiB"-free plain numbers; nullopt when malformed.
inline std::optional<uint64_t> parse_number(const std::string& s) {
  if (s.empty() || s[0] == '-') return std::nullopt;
  try {
    size_t used = 0;
    const uint64_t v = std::stoull(s, &used, 0);
    if (used != s.size()) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

// A CLI11 validator for such numbers (a malformed one is a usage error, exit 2).
inline CLI::Validator number_validator() {
  return CLI::Validator(
      [](std::string& s) { return parse_number(s) ? std::string() : "'" + s + "' is not a number (use 0x... or decimal)"; },
      "NUMBER");
}

}  // namespace elfwrap::cli
