// Errors as values, with location: file, byte offset, structure path, message.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace elfwrap {

struct Error {
  std::string file;     // set by whoever knows the file name (often the driver)
  uint64_t offset = 0;  // absolute byte offset in the file
  std::string path;     // structure path, e.g. "FV[1]/FFS[7]"; empty when not inside a structure
  std::string message;  // "FvLength 0x7fffffff runs past end of image (0x200000)"
  bool located = true;  // false for errors that are not about a position (I/O, options)
};

// "'OVMF.fd': FV[1] at 0x20000: FvLength ... (0x200000)"
std::string to_string(const Error& e);

Error error_at(uint64_t offset, std::string path, std::string message);
Error plain_error(std::string message);
Error with_file(Error e, std::string file);

std::string hex(uint64_t v);

// Minimal std::expected stand-in (C++20): either a value or an Error.
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T v) : v_(std::move(v)) {}      // NOLINT(google-explicit-constructor)
  Expected(Error e) : v_(std::move(e)) {}  // NOLINT(google-explicit-constructor)
  explicit operator bool() const { return v_.index() == 0; }
  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Expected<Unit>;
inline Status ok() { return Unit{}; }

}  // namespace elfwrap

// EW_TRY(var, expr): evaluate expr (an Expected); on error return it, else bind the value.
#define EW_CONCAT_(a, b) a##b
#define EW_CONCAT(a, b) EW_CONCAT_(a, b)
#define EW_TRY(var, expr) EW_TRY_IMPL(EW_CONCAT(ew_try_, __LINE__), var, expr)
#define EW_TRY_IMPL(tmp, var, expr)  \
  auto tmp = (expr);                 \
  if (!tmp) return tmp.take_error(); \
  var = std::move(tmp).value()
#define EW_CHECK(expr)                         \
  do {                                         \
    auto ew_chk_ = (expr);                     \
    if (!ew_chk_) return ew_chk_.take_error(); \
  } while (0)
