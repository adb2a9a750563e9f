// Shared pieces of the elfwrap driver: diagnostics and the per-command registration.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "elfwrap/error.hpp"
#include "elfwrap/image.hpp"
#include "elfwrap/json.hpp"

namespace elfwrap::cli {

// Exit codes: 0 success, 1 failure (bad input, check failed), 2 usage.
inline constexpr int kExitOk = 0, kExitFail = 1, kExitUsage = 2;

inline void print_error(const Error& e) { std::cerr << "elfwrap: error: " << to_string(e) << "\n"; }
inline void print_warning(const std::string& file, const Warning& w) {
  std::cerr << "elfwrap: warning: '" << file << "': " << to_string(w) << "\n";
}
inline void print_json(const nlohmann::json& j) { std::cout << dump(j) << "\n"; }
// Prints an error (naming `file` unless it already names one) and returns the failure status.
inline int fail(Error e, const std::string& file) {
  if (e.file.empty()) e.file = file;
  print_error(e);
  return kExitFail;
}

// Reads and parses an image and prints its warnings; on failure prints the error and returns
// nullopt. `rescue`: faults outside the NV store are warnings (vars list/extract).
std::optional<Image> load_image(const std::string& path, std::vector<std::byte>* bytes_out = nullptr, bool rescue = false);

// Each command adds its subcommand and sets `run` to what it does when selected.
using Runner = std::function<int()>;
Runner add_inspect(CLI::App& app);
Runner add_wrap(CLI::App& app);
Runner add_unwrap(CLI::App& app);
Runner add_verify(CLI::App& app);
Runner add_vars(CLI::App& app);
Runner add_compat(CLI::App& app);

}  // namespace elfwrap::cli
