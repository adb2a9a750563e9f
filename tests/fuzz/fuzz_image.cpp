// libFuzzer target: the whole firmware-image parser (ELF header, volumes, FFS, NV store,
// variables, GUIDed table), plus the JSON rendering of whatever it accepts, plus the product's
// promise for whatever wraps or unwraps: the output re-parses, and every firmware volume except
// the NV volume whose store is replaced comes out byte-identical (shifted by what was put in
// front or dropped), so nothing of the user's is lost.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include "elfwrap/image.hpp"
#include "elfwrap/json.hpp"
#include "elfwrap/wrap.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s\n", what, detail.c_str());
  __builtin_trap();
}

// Every volume of `in` from index `from` on is in `out` at offset + shift, byte for byte.
void check_volumes_kept(const elfwrap::Image& in, std::span<const std::byte> in_bytes, std::span<const std::byte> out, size_t from,
                        int64_t shift, const char* what) {
  for (size_t i = from; i < in.volumes.size(); ++i) {
    const auto& fv = in.volumes[i];
    const auto at = static_cast<int64_t>(fv.offset) + shift;
    if (at < 0 || static_cast<uint64_t>(at) + fv.length > out.size() ||
        !std::equal(in_bytes.begin() + static_cast<ptrdiff_t>(fv.offset), in_bytes.begin() + static_cast<ptrdiff_t>(fv.offset + fv.length),
                    out.begin() + at))
      fail(what, "FV[" + std::to_string(i) + "] at " + elfwrap::hex(fv.offset) + " did not come out unchanged");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  // No LIEF cross-check (the default): LIEF is the second opinion, not the trust boundary; the
  // unit tests exercise it on valid headers. Fuzzing targets our own checked reader.
  const elfwrap::ParseOptions opts;
  // Rescue parsing (vars list/extract) takes whatever the strict one takes, and more.
  elfwrap::ParseOptions rescue;
  rescue.rescue = true;
  auto rescued = elfwrap::parse_image(bytes, rescue);
  if (rescued) (void)elfwrap::dump(elfwrap::to_json(*rescued));
  auto img = elfwrap::parse_image(bytes, opts);
  if (!img) return 0;
  if (!rescued) fail("rescue", "the strict parse succeeded where the rescue parse failed: " + elfwrap::to_string(rescued.error()));
  (void)elfwrap::dump(elfwrap::to_json(*img));
  for (auto target : {elfwrap::Target::pvh, elfwrap::Target::hvm}) {
    elfwrap::WrapOptions o;
    o.target = target;
    o.force = true;
    auto plan = elfwrap::plan_wrap(*img, bytes, o);
    if (!plan) continue;
    const auto out = elfwrap::apply_wrap(*plan, bytes);
    const char* what = target == elfwrap::Target::pvh ? "wrap (pvh)" : "wrap (hvm)";
    auto again = elfwrap::parse_image(out, opts);
    if (!again) fail(what, "output does not re-parse: " + elfwrap::to_string(again.error()));
    check_volumes_kept(*img, bytes, out, plan->source == elfwrap::Source::raw ? 1 : 0, static_cast<int64_t>(plan->prefix.size()), what);
  }
  if (img->elf) {
    auto u = elfwrap::plan_unwrap(*img);
    if (u) {
      const auto out = elfwrap::apply_unwrap(*u, bytes);
      check_volumes_kept(*img, bytes, out, 0, -static_cast<int64_t>(u->strip), "unwrap");
    }
  }
  return 0;
}
