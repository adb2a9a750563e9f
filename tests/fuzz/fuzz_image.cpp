// libFuzzer target: the whole firmware-image parser (ELF header, volumes, FFS, NV store,
// variables, GUIDed table), plus the JSON rendering of whatever it accepts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include "elfwrap/image.hpp"
#include "elfwrap/json.hpp"
#include "elfwrap/wrap.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  // No LIEF cross-check (the default): LIEF is the second opinion, not the trust boundary; the
  // unit tests exercise it on valid headers. Fuzzing targets our own checked reader.
  const elfwrap::ParseOptions opts;
  auto img = elfwrap::parse_image(bytes, opts);
  if (!img) return 0;
  (void)elfwrap::to_json(*img).dump();
  // Whatever parses must plan (or refuse) cleanly, and the planned output must reparse.
  for (auto target : {elfwrap::Target::pvh, elfwrap::Target::hvm}) {
    elfwrap::WrapOptions o;
    o.target = target;
    o.force = true;
    auto plan = elfwrap::plan_wrap(*img, o);
    if (!plan) continue;
    const auto out = elfwrap::apply_wrap(*plan, bytes);
    auto again = elfwrap::parse_image(out, opts);
    if (!again) {
      std::fprintf(stderr, "wrapped output (target %s) does not re-parse: %s\n",
                   target == elfwrap::Target::pvh ? "pvh" : "hvm", elfwrap::to_string(again.error()).c_str());
      __builtin_trap();
    }
  }
  return 0;
}
