// Numbers on the command line of our tools: decimal ("256") or hexadecimal ("0x100"), nothing
// else. A leading zero is refused rather than read as octal ("0256" would be 174), and so is a
// sign ("-1" would wrap to 2^64 - 1).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace tools {

inline std::optional<uint64_t> parse_number(const std::string& s) {
  const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  const std::string digits = hex ? s.substr(2) : s;
  if (digits.empty() || (!hex && digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    int d = -1;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (hex && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (hex && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    if (d < 0) return std::nullopt;
    const uint64_t base = hex ? 16 : 10;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / base) return std::nullopt;  // overflow
    v = v * base + static_cast<uint64_t>(d);
  }
  return v;
}

// A CLI11 validator for such numbers (a malformed one is a usage error, exit 2).
inline CLI::Validator number_validator() {
  return CLI::Validator(
      [](std::string& s) {
        return parse_number(s) ? std::string()
                               : "'" + s + "' is not a number: give it in decimal without leading zeros, or as 0x... hexadecimal";
      },
      "NUMBER");
}

}  // namespace tools
