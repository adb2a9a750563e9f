// Regression tests for the defects found by trying to break elfwrap (the library side): each
// names the defect it covers. The CLI side is in tests/integration/test_hardening_cli.cpp.
#include "elfwrap/compat.hpp"
#include "elfwrap/json.hpp"
#include "elfwrap/wrap.hpp"
#include "tests/unit/helpers.hpp"

using namespace elfwrap;
using namespace fx;

namespace {

// An NV volume holding a variable at 0x1000, after an ELF header whose program-header table
// (e_phoff 0xfd0, 3 entries of 0x20) runs into the volume's header: the old parser started
// looking for volumes where the table ended and never saw this one.
Bytes nv_hidden_by_phdrs() {
  Nv nv;
  nv.vars = {Var{}};
  Bytes b = concat({filled(0x1000), build_nv(nv), code_image(0x1e0000, Tail::xen_pvh)});
  overlay_elf(b, ElfSpec{.load_size = b.size(), .phoff_override = 0xfd0, .phnum_override = 3, .varstore_size = 0x1000});
  return b;
}

Expected<WrapPlan> plan(const Bytes& in, WrapOptions o = {}) { return plan_wrap(parse_ok(in), in, o); }

std::string plan_err(const Bytes& in, WrapOptions o = {}) {
  auto p = plan(in, o);
  if (p) FAIL("expected an error, got a plan");
  return to_string(p.error());
}

}  // namespace

TEST_CASE("defect 1: volumes are found whatever the ELF header claims; a header over a volume is refused") {
  CHECK(parse_err(nv_hidden_by_phdrs()) ==
        "FV[0] at 0x1000: volume inside the ELF header's area [0x0, 0x1030) (ELF header, program headers, notes): the "
        "header and the volume overlap");
}

TEST_CASE("defect 7: wrap refuses to erase bytes past the store's walk (a store Size that hides a variable)") {
  Nv nv;
  nv.vars = {Var{}};
  nv.store_size = 0x1c;  // only the store header: the variable after it is outside the walk
  const Bytes img = ovmf_image(0x200000, Tail::xen_pvh, &nv);
  const Image parsed = parse_ok(img);
  CHECK(parsed.nvstore->live_variables() == 0);
  CHECK(has_warning(parsed, "variable store Size 0x1c differs from the 0x20000 layout's 0xdfb8"));
  CHECK(plan_err(img) ==
        "offset 0x64: 71 non-erased byte(s) in [0x64, 0xe000), past the variables the store's walk reached (store Size 0x1c): "
        "wrapping would erase them; keep them with --save-vars FILE (the whole NV region), or discard them with --force");
  WrapOptions save;
  save.saving_vars = true;
  CHECK(plan(img, save));
  WrapOptions force;
  force.force = true;
  CHECK(plan(img, force));
  // Bytes after an old ELF header are looked at the same way (no store to save them into).
  Bytes elf = ovmf_image(0x200000, Tail::xen_pvh);
  overlay_elf(elf, ElfSpec{});
  put_text(elf, 0x2000, "left over");
  CHECK(plan_err(elf) ==
        "offset 0x2000: 9 non-erased byte(s) in [0x88, 0xe000), after the old ELF header: wrapping would erase "
        "them; discard them with --force");
}

TEST_CASE("defect 8: --vars must fit the CODE image (vars check's rule), and a VARS file is not a CODE image") {
  const Bytes code = code_image(0x1e0000, Tail::xen_pvh);
  const Image ci = parse_ok(code);
  const Bytes vars4m = build_nv(Nv{&kLayout4M});
  const Image v4 = parse_ok(vars4m);
  WrapOptions o;
  o.vars = VarsInput{"v4.fd", &v4, vars4m};
  auto p = plan_wrap(ci, code, o);
  REQUIRE_FALSE(p);
  CHECK(to_string(p.error()) ==
        "'v4.fd': does not fit this CODE image (elfwrap vars check): layout mismatch: the CODE image expects 0x20000 (variable "
        "store 0xe000, FTW working block at 0xf000, spare at 0x10000) but the VARS file is 0x84000 (variable store 0x40000, FTW "
        "working block at 0x41000): the firmware would not find the variables");
  Bytes trailing = build_nv(Nv{});
  trailing.resize(trailing.size() + 0x1000, std::byte{0xff});
  const Image vt = parse_ok(trailing);
  o.vars = VarsInput{"t.fd", &vt, trailing};
  p = plan_wrap(ci, code, o);
  REQUIRE_FALSE(p);
  CHECK(to_string(p.error()) ==
        "'t.fd': does not fit this CODE image (elfwrap vars check): the VARS file is 0x21000 bytes, not "
        "the layout's 0x20000 (trailing bytes would shift the code after it)");
  const Image vars = parse_ok(build_nv(Nv{}));
  const CompatReport r = check_vars(vars, vars);
  REQUIRE_FALSE(r.ok());
  CHECK(r.differences[0] == "the CODE image has no code volume (it is a VARS file, not firmware)");
}

TEST_CASE("defect 9: --target hvm refuses an image without a reset vector") {
  WrapOptions o;
  o.target = Target::hvm;
  CHECK(plan_err(ovmf_image(0x200000, Tail::none), o) ==
        "reset-vector at 0x1fffec: no reset vector at the end of the image (no \"VTF\\0\" at end-0x14): as HVM firmware it "
        "would be started at 0xfffffff0 in whatever bytes are there");
  CHECK(plan(ovmf_image(0x200000, Tail::stock), o));
  CHECK(plan(ovmf_image(0x200000, Tail::vtf_no_entry), o));  // HVM starts at the reset vector, which is there
}

TEST_CASE("defect 10: --entry-offset must point at code outside the erased area") {
  const Bytes img = ovmf_image(0x200000, Tail::xen_pvh);
  WrapOptions o;
  for (uint64_t e : {uint64_t{0}, uint64_t{0x100}, uint64_t{0xdfff}}) {
    o.entry_offset = e;
    CHECK(plan_err(img, o) == "offset 0x0: --entry-offset " + hex(e) +
                                  " is inside [0x0, 0xe000), the area the ELF header and the erased variable store take: there is "
                                  "no code there");
  }
  o.entry_offset = 0x10000;  // the FTW spare block: erased flash
  CHECK(plan_err(img, o) == "offset 0x10000: --entry-offset 0x10000 points at erased flash (0xff bytes), not at code");
  o.entry_offset = 0x1ffff8;
  CHECK(plan_err(img, o) == "offset 0x0: --entry-offset 0x1ffff8 is outside the image (0x200000 bytes) or in its last 16 bytes");
  o.entry_offset = 0x1fffd0;  // XenResetVector's own entry, given explicitly
  CHECK(plan(img, o));
}

TEST_CASE("defect 11: an image in the MMIO hole may not cover the local APIC or Xen's special pages") {
  const Bytes img = ovmf_image(0x200000, Tail::xen_pvh);
  WrapOptions o;
  o.allow_mmio_hole = true;
  o.load_address = 0xfee00000;
  CHECK(plan_err(img, o) ==
        "offset 0x0: the image [0xfee00000, 0xff000000) overlaps Xen's special pages [0xfeff8000, 0xff000000) "
        "(console, xenstore, ioreq pages)");
  o.load_address = 0xfed00000;
  CHECK(plan_err(img, o) ==
        "offset 0x0: the image [0xfed00000, 0xfef00000) overlaps the local APIC page at 0xfee00000, which Xen "
        "emulates for PVH guests");
  o.load_address = 0xffe00000;  // where hvmloader puts a 2 MiB OVMF: fine
  CHECK(plan(img, o));
}

TEST_CASE("defect 16: an image of very many FFS files is checked whole but listed in bounded size") {
  // 4 MiB of volumes full of header-only FFS files: about 170,000 files.
  Bytes img;
  for (int v = 0; v < 64; ++v) {
    Fv fv;
    fv.length = 0x10000;
    for (int i = 0; i < 2700; ++i) fv.files.push_back(File{.data = {}});
    img = concat({img, build_fv(fv)});
  }
  const Image m = parse_ok(img);
  uint64_t listed = 0, total = 0;
  for (const auto& fv : m.volumes) {
    listed += fv.files.size() + fv.gaps.size();
    total += fv.file_count;
  }
  CHECK(total == 64 * 2700);
  CHECK(listed == 8192);
  CHECK(has_warning(m, "the image has more FFS files and gaps than elfwrap lists (8192): "));
  const auto j = to_json(m);
  CHECK(j["volumes"][63]["file_count"] == 2700);
  CHECK(j["volumes"][63]["unlisted_files"] == 2700);
}

TEST_CASE("defect 17: rescue parsing keeps the NV store of an image damaged elsewhere") {
  Nv nv;
  nv.vars = {Var{u"Keep"}};
  Bytes img = ovmf_image(0x200000, Tail::stock, &nv);
  put16(img, img.size() - 0x32, 0xffff);  // the GUIDed table's length
  CHECK(parse_err(img) ==
        "reset-vector/guided-table at 0x1f6f00: entry ffffffff-ffff-ffff-ffff-ffffffffffff length 0xffff is below "
        "0x12 or runs before the table start 0x1effe1");
  ParseOptions rescue;
  rescue.rescue = true;
  auto r = parse_image(img, rescue);
  REQUIRE(r);
  REQUIRE(r->nvstore);
  CHECK(r->nvstore->variables[0].name == "Keep");
  CHECK(has_warning(*r, "reset-vector/guided-table at 0x1f6f00: rescue: reset vector not parsed: entry ffffffff-"));
  // A code volume that does not parse is skipped (and said so); the NV store is still read.
  Bytes bad = ovmf_image(0x200000, Tail::xen_pvh, &nv);
  put16(bad, 0x20000 + 0x30, 0x47);  // FVMAIN's HeaderLength: odd
  r = parse_image(bad, rescue);
  REQUIRE(r);
  CHECK(r->nvstore->variables.size() == 1);
  CHECK(has_warning(*r, "rescue: volume not parsed, skipped: FV[1] at 0x20030: HeaderLength 0x47 is not an even size"));
  // The NV store itself is never "rescued" into something else.
  Bytes badnv = ovmf_image(0x200000, Tail::xen_pvh, &nv);
  put32(badnv, 0x48 + 0x10, 0x7fffffff);
  CHECK_FALSE(parse_image(badnv, rescue));
}

TEST_CASE("defect 21: a PVH entry is XenResetVector's jump, not whatever lies at end-0x30") {
  const Image pad = parse_ok(ovmf_image(0x200000, Tail::vtf_no_entry));
  CHECK(pad.reset_vector.flavor == Flavor::unknown);
  CHECK(pad.reset_vector.vtf);
  CHECK(plan_err(ovmf_image(0x200000, Tail::vtf_no_entry)) ==
        "reset-vector at 0x1fffd0: no PVH entry found: no OVMF GUIDed table, and the bytes at end-0x30 are not XenResetVector's "
        "jump to its 32-bit PVH entry; build OvmfXen (scripts/build-ovmfxen.sh), or give the entry with --entry-offset if you "
        "know it");
  // A jump forward, or into erased flash, is not XenResetVector's either.
  Bytes fwd = ovmf_image(0x200000, Tail::xen_pvh);
  put8(fwd, fwd.size() - 0x30, 0xeb);
  put8(fwd, fwd.size() - 0x2f, 0x10);
  CHECK(parse_ok(fwd).reset_vector.flavor == Flavor::unknown);
  Bytes into_ff = ovmf_image(0x200000, Tail::xen_pvh);
  put32(into_ff, into_ff.size() - 0x2f, static_cast<uint32_t>(0x10000 - (into_ff.size() - 0x30 + 5)));  // to the FTW spare
  CHECK(parse_ok(into_ff).reset_vector.flavor == Flavor::unknown);
  const Image real = parse_ok(ovmf_image(0x200000, Tail::xen_pvh));
  CHECK(real.reset_vector.flavor == Flavor::xen_pvh);
  CHECK(real.reset_vector.pvh_entry_offset == 0x1fffd0);
}

TEST_CASE("defect 15: JSON of names that are not UTF-8 is still JSON") {
  nlohmann::json j = {{"file", "bad-\xff-name.fd"}};
  const std::string text = dump(j);
  CHECK(text.find("bad-\xef\xbf\xbd-name.fd") != std::string::npos);  // U+FFFD
  CHECK(nlohmann::json::accept(text));
}
