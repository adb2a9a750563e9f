#include "elfwrap/error.hpp"

#include <cstdio>

namespace elfwrap {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string to_string(const Error& e) {
  std::string s;
  if (!e.file.empty()) s += "'" + e.file + "': ";
  if (e.located) {
    s += e.path.empty() ? "offset " + hex(e.offset) : e.path + " at " + hex(e.offset);
    s += ": ";
  }
  return s + e.message;
}

Error error_at(uint64_t offset, std::string path, std::string message) {
  return Error{{}, offset, std::move(path), std::move(message), true};
}

Error plain_error(std::string message) { return Error{{}, 0, {}, std::move(message), false}; }

Error with_file(Error e, std::string file) {
  e.file = std::move(file);
  return e;
}

}  // namespace elfwrap
