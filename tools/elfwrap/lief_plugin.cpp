#include "tools/elfwrap/lief_plugin.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <string>

namespace elfwrap::cli {
namespace {

using CrossCheck = void (*)(std::span<const std::byte>, const ElfWrapper&, std::vector<Warning>&);

std::string exe_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  const std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.find_last_of('/'));
}

// The plugin's function, or the reason it could not be had.
CrossCheck load(std::string& why) {
  for (const std::string& dir : {exe_dir(), std::string(ELFWRAP_PLUGIN_DIR)}) {
    const std::string path = dir + "/elfwrap-lief.so";
    if (::access(path.c_str(), R_OK) != 0) continue;
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      why = ::dlerror();
      return nullptr;
    }
    if (auto f = reinterpret_cast<CrossCheck>(::dlsym(h, "elfwrap_lief_cross_check"))) return f;
    why = path + " has no elfwrap_lief_cross_check";
    return nullptr;
  }
  why = "elfwrap-lief.so is neither next to elfwrap nor in " ELFWRAP_PLUGIN_DIR;
  return nullptr;
}

}  // namespace

void lazy_lief_cross_check(std::span<const std::byte> bytes, const ElfWrapper& w, std::vector<Warning>& warns) {
  static std::string why;
  static const CrossCheck f = load(why);
  if (f)
    f(bytes, w, warns);
  else
    warns.push_back({0, "ELF", "LIEF's second reading of the ELF header was not done: " + why});
}

}  // namespace elfwrap::cli
