#pragma once

#include <doctest/doctest.h>

#include <string>

#include "elfwrap/image.hpp"
#include "elfwrap/lief_check.hpp"
#include "tests/fixture/builder.hpp"

// Parses, requires success, returns the model.
inline elfwrap::Image parse_ok(const fx::Bytes& b) {
  auto r = elfwrap::parse_image(b, {&elfwrap::lief_cross_check});
  if (!r) FAIL("unexpected error: " << elfwrap::to_string(r.error()));
  return std::move(r).value();
}

// Parses, requires failure, returns the error rendered as the CLI prints it (without file).
inline std::string parse_err(const fx::Bytes& b) {
  auto r = elfwrap::parse_image(b, {&elfwrap::lief_cross_check});
  if (r) FAIL("expected an error, got a model");
  return elfwrap::to_string(r.error());
}

inline bool has_warning(const elfwrap::Image& img, const std::string& needle) {
  for (const auto& w : img.warnings)
    if (elfwrap::to_string(w).find(needle) != std::string::npos) return true;
  return false;
}
