// The firmware-image model on fixture-built images: what it finds.
#include "tests/unit/helpers.hpp"

#include "elfwrap/json.hpp"
#include "elfwrap/reader.hpp"

using namespace elfwrap;
using namespace fx;

TEST_CASE("GUIDs round-trip through the EFI byte layout and have names") {
  const auto g = Guid::parse("8c8ce578-8a3d-4f1c-9935-896185c32dd3");
  REQUIRE(g);
  CHECK(g->bytes[0] == 0x78);  // Data1 little-endian
  CHECK(g->bytes[8] == 0x99);  // Data4 as is
  CHECK(g->str() == "8c8ce578-8a3d-4f1c-9935-896185c32dd3");
  CHECK(std::string(guid_name(*g)) == "EFI_FIRMWARE_FILE_SYSTEM2");
  CHECK_FALSE(Guid::parse("8c8ce578-8a3d-4f1c-9935-896185c32dd"));
  CHECK_FALSE(Guid::parse("8c8ce578x8a3d-4f1c-9935-896185c32dd3"));
  CHECK_FALSE(Guid::parse("zc8ce578-8a3d-4f1c-9935-896185c32dd3"));
  for (const Guid* k : {&guids::kNvStoreFv, &guids::kFfs2, &guids::kSecFv, &guids::kFvMainCompact, &guids::kAuthVarStore,
                        &guids::kFtwWorkingBlock, &guids::kOvmfTableFooter})
    CHECK(guid_name(*k) != nullptr);
}

TEST_CASE("the checked reader refuses every out-of-bounds access, including overflowing ones") {
  Bytes b = filled(16, 0x11);
  ByteView v(b, 0x1000);
  CHECK(v.le<uint32_t>(12) == 0x11111111u);
  CHECK_FALSE(v.le<uint32_t>(13));
  CHECK_FALSE(v.le<uint64_t>(UINT64_MAX));
  CHECK_FALSE(v.sub(8, UINT64_MAX));
  CHECK_FALSE(v.sub(UINT64_MAX, 1));
  CHECK(v.sub(16, 0));
  CHECK(v.sub(4, 4)->abs(0) == 0x1004);
  CHECK(v.all_equal(0, 16, 0x11));
  CHECK_FALSE(v.all_equal(0, 17, 0x11));
}

TEST_CASE("a 2 MiB xen-pvh image: three volumes, the 0x20000 NV layout, the PVH entry") {
  const Image img = parse_ok(ovmf_image(0x200000, Tail::xen_pvh));
  CHECK(img.size == 0x200000);
  CHECK_FALSE(img.elf);
  REQUIRE(img.volumes.size() == 3);
  CHECK(img.volumes[0].role == VolumeRole::nvstore);
  CHECK(img.volumes[0].length == 0x20000);
  CHECK(img.volumes[1].role == VolumeRole::main);
  CHECK(img.volumes[1].offset == 0x20000);
  CHECK(img.volumes[1].name == guids::kFvMainCompact);
  CHECK(img.volumes[2].role == VolumeRole::sec);
  CHECK(img.volumes[2].offset == 0x1f0000);
  for (const auto& fv : img.volumes) CHECK(fv.checksum_ok);
  REQUIRE(img.nvstore);
  CHECK(img.nvstore->layout == &kLayout2M);
  CHECK(img.nvstore->authenticated);
  CHECK(img.nvstore->store_size == 0xdfb8);
  CHECK(img.nvstore->variables.empty());
  REQUIRE(img.nvstore->ftw);
  CHECK(img.nvstore->ftw->offset == 0xf000);
  CHECK(img.nvstore->ftw->crc_ok);
  CHECK(img.nvstore->ftw->valid);
  CHECK(img.nvstore->ftw->write_queue_size == 0xfe0);
  CHECK(img.reset_vector.flavor == Flavor::xen_pvh);
  CHECK(img.reset_vector.pvh_entry_offset == 0x200000 - 0x30);
  CHECK(img.reset_vector.guided_table.empty());
  CHECK(img.warnings.empty());
}

TEST_CASE("FFS files: pad file with the extended header, types, states, alignment, free space") {
  const Image img = parse_ok(ovmf_image(0x100000, Tail::xen_pvh));
  const Volume& main = img.volumes[1];
  REQUIRE(main.files.size() == 3);
  CHECK(main.files[0].type == 0xf0);  // the pad file carrying the extended header
  CHECK(main.files[0].offset == 0x20048);
  CHECK(main.files[1].type == 0x0b);
  CHECK(main.files[1].size == 0x418);
  CHECK(ffs_state_name(main.files[1].state) == "DATA_VALID");
  CHECK(main.files[2].alignment == 16);
  CHECK(main.files[2].header_checksum_ok);
  REQUIRE(main.gaps.size() == 1);
  CHECK(main.gaps[0].erased);
  CHECK(main.gaps[0].offset + main.gaps[0].length == main.offset + main.length);
  const Volume& sec = img.volumes[2];
  CHECK(sec.files.back().offset + sec.files.back().size == img.size);  // the volume top file
}

TEST_CASE("a 4 MiB image uses the 0x84000 layout; a stock tail has the GUIDed table") {
  const Image img = parse_ok(ovmf_image(0x400000, Tail::stock));
  REQUIRE(img.nvstore);
  CHECK(img.nvstore->layout == &kLayout4M);
  CHECK(img.nvstore->ftw->offset == 0x41000);
  CHECK(img.volumes[1].offset == 0x84000);
  CHECK(img.reset_vector.flavor == Flavor::stock);
  CHECK_FALSE(img.reset_vector.pvh_entry_offset);
  REQUIRE(img.reset_vector.guided_table.size() == 2);
  CHECK(std::string(guid_name(img.reset_vector.guided_table[0].guid)) == "SEV_ES_RESET_BLOCK");
  CHECK(std::string(guid_name(img.reset_vector.guided_table[1].guid)) == "TDX_METADATA");
  CHECK(img.reset_vector.guided_table[0].offset == 0x400000 - 0x32 - 22);
}

TEST_CASE("CODE-only and VARS-only images") {
  const Image code = parse_ok(code_image(0x1e0000, Tail::xen_pvh));
  CHECK(code.volumes.size() == 2);
  CHECK_FALSE(code.nvstore);
  CHECK(code.reset_vector.pvh_entry_offset == 0x1e0000 - 0x30);
  const Image vars = parse_ok(build_nv(Nv{&kLayout4M}));
  CHECK(vars.volumes.size() == 1);
  CHECK(vars.nvstore->layout == &kLayout4M);
  CHECK(vars.reset_vector.flavor == Flavor::unknown);
  const Image none = parse_ok(code_image(0x1e0000, Tail::none));
  CHECK(none.reset_vector.flavor == Flavor::unknown);
}

TEST_CASE("variables in every state, names at the limits, plain and authenticated stores") {
  for (bool auth : {true, false}) {
    Nv nv;
    nv.authenticated = auth;
    nv.vars = {Var{u"BootOrder"},
               Var{u"Gone", guids::kGlobalVariable, 7, 0x3c},
               Var{u"Moving", guids::kGlobalVariable, 3, 0x3e},
               Var{u"Half", guids::kGlobalVariable, 7, 0x7f},
               Var{u"X", Guid::of("d719b2cb-3d3a-4596-a3bc-dad00e67656f"), 0x27, 0x3f, Bytes{}},
               Var{std::u16string(1000, u'n'), guids::kGlobalVariable, 1, 0x3f, filled(4001, 0xab)}};
    const Image img = parse_ok(ovmf_image(0x200000, Tail::xen_pvh, &nv));
    const auto& vars = img.nvstore->variables;
    REQUIRE(vars.size() == 6);
    CHECK(img.nvstore->authenticated == auth);
    CHECK(vars[0].name == "BootOrder");
    CHECK(vars[0].state == VarState::added);
    CHECK(vars[0].data_size == 3);
    CHECK(var_attributes_str(vars[0].attributes) == "NV|BS|RT");
    CHECK(vars[1].state == VarState::deleted);
    CHECK(vars[2].state == VarState::in_deleted_transition);
    CHECK(vars[3].state == VarState::header_valid_only);
    CHECK(vars[4].data_size == 0);
    CHECK(var_attributes_str(vars[4].attributes) == "NV|BS|RT|AT");
    CHECK(vars[5].name.size() == 1000);
    CHECK(vars[5].data_size == 4001);
    CHECK(img.nvstore->live_variables() == 4);
    CHECK(img.nvstore->free_offset == vars[5].end);
    CHECK(img.warnings.empty());
  }
}

TEST_CASE("an edk2-style ELF header over the variable store") {
  Bytes b = ovmf_image(0x400000, Tail::xen_pvh);
  overlay_elf(b, ElfSpec{});
  const Image img = parse_ok(b);
  REQUIRE(img.elf);
  CHECK(img.elf->elf_class == 32);
  CHECK(img.elf->machine == 3);
  CHECK(img.elf->osabi == 3);
  CHECK(img.elf->entry == 0x2fffd0);
  REQUIRE(img.elf->segments.size() == 2);
  CHECK(img.elf->segments[0].filesz == 0x200000);
  CHECK(img.elf->segments[1].offset == 0x74);
  CHECK(img.elf->header_end == 0x88);
  REQUIRE(img.elf->notes.size() == 1);
  CHECK(img.elf->notes[0].name == "Xen");
  CHECK(std::string(xen_note_name(img.elf->notes[0].type)) == "PHYS32_ENTRY");
  CHECK(img.elf->phys32_entry() == 0x2fffd0);
  CHECK(has_warning(img, "ELF/phdr[1] at 0x74: PT_NOTE p_align 0x0 is not 4"));
  // The NV FV header is gone; the layout is still known from the FTW working block.
  REQUIRE(img.nvstore);
  CHECK_FALSE(img.nvstore->fv_present);
  CHECK(img.nvstore->layout == &kLayout4M);
  CHECK(img.volumes.size() == 2);
  CHECK(img.reset_vector.flavor == Flavor::xen_pvh);
  // LIEF agrees with the checked reader.
  for (const auto& w : img.warnings) CHECK(to_string(w).find("LIEF") == std::string::npos);
}

TEST_CASE("ELF64 header with p_align 4: no shape warnings") {
  Bytes b = ovmf_image(0x200000, Tail::xen_pvh);
  overlay_elf(b, ElfSpec{64, 3, 0x100000, 0x200000, 0x2fffd0, 4});
  const Image img = parse_ok(b);
  CHECK(img.elf->elf_class == 64);
  CHECK(img.elf->header_end == 0xc4);
  CHECK(img.warnings.empty());
}

TEST_CASE("soft findings are warnings: checksums, unknown file system, FTW CRC, store format") {
  Fv bad;
  bad.filesystem = Guid::of("01234567-89ab-cdef-0123-456789abcdef");
  bad.bad_checksum = true;
  bad.length = 0x1000;
  Nv nv;
  nv.bad_ftw_crc = true;
  Bytes img = concat({build_nv(nv), build_fv(bad)});
  const Image m = parse_ok(img);
  CHECK(has_warning(m, "FV[1] at 0x20032: header checksum"));
  CHECK(has_warning(m, "FV[1] at 0x20010: unknown FileSystemGuid 01234567-89ab-cdef-0123-456789abcdef"));
  CHECK(has_warning(m, "NV/FTW at 0xf000: FTW working block header CRC"));
  Fv badfile;
  badfile.files.push_back(File{});
  badfile.files.back().bad_checksum = true;
  CHECK(has_warning(parse_ok(build_fv(badfile)), "FV[0]/FFS[0] at 0x48: FFS header checksum is invalid"));
}

TEST_CASE("the JSON model has the documented keys") {
  const Image img = parse_ok(ovmf_image(0x200000, Tail::stock));
  const auto j = to_json(img);
  CHECK(j["size"] == 0x200000);
  CHECK(j["elf"].is_null());
  CHECK(j["volumes"][0]["role"] == "nvstore");
  CHECK(j["volumes"][1]["name_guid"] == "48db5e17-707c-472d-91cd-1613e7ef51b0");
  CHECK(j["volumes"][2]["filesystem_guid"] == "8c8ce578-8a3d-4f1c-9935-896185c32dd3");
  CHECK(j["nvstore"]["layout"] == "0x20000");
  CHECK(j["nvstore"]["authenticated"] == true);
  CHECK(j["nvstore"]["variables"].is_array());
  CHECK(j["reset_vector"]["flavor"] == "stock");
  CHECK(j["reset_vector"]["pvh_entry_offset"].is_null());
  CHECK(j["reset_vector"]["guided_table"][1]["name"] == "TDX_METADATA");
  CHECK(j["warnings"].is_array());
}

TEST_CASE("untrusted names become valid UTF-8 (fuzzer finding: JSON rendering threw on raw bytes)") {
  Nv nv;
  nv.vars = {Var{std::u16string{u'A', char16_t(0xd800), u'B'}}, Var{std::u16string{char16_t(0xd83d), char16_t(0xde00)}},
             Var{u"\u00e9t\u00e9"}};
  const Image img = parse_ok(ovmf_image(0x200000, Tail::xen_pvh, &nv));
  CHECK(img.nvstore->variables[0].name ==
        "A\xef\xbf\xbd"
        "B");                                                   // lone surrogate -> U+FFFD
  CHECK(img.nvstore->variables[1].name == "\xf0\x9f\x98\x80");  // surrogate pair -> U+1F600
  CHECK(img.nvstore->variables[2].name == "\xc3\xa9t\xc3\xa9");
  Bytes b = ovmf_image(0x200000, Tail::xen_pvh);
  overlay_elf(b, ElfSpec{});
  put8(b, 0x74 + 12, 0xac);  // first byte of the note name "Xen"
  const Image e = parse_ok(b);
  CHECK(e.elf->notes[0].name == "\\xacen");
  CHECK_NOTHROW((void)to_json(e).dump());
  CHECK_NOTHROW((void)to_json(img).dump());
}

#include "elfwrap/wrap.hpp"

TEST_CASE("wrap_pieces writes exactly what apply_wrap assembles, for every kind of input") {
  const Bytes raw = ovmf_image(0x200000, Tail::xen_pvh), code = code_image(0x1e0000, Tail::xen_pvh);
  const Bytes odd = code_image(0x1f0000, Tail::xen_pvh);  // prefix 0x10000: no OVMF layout
  for (const Bytes* in : {&raw, &code, &odd}) {
    for (int cls : {32, 64}) {
      const Image img = parse_ok(*in);
      WrapOptions o;
      o.elf_class = cls;
      auto plan = plan_wrap(img, *in, o);
      REQUIRE(plan);
      const Bytes whole = apply_wrap(*plan, *in);
      const Bytes erased(plan->erase_end, std::byte{0xff});
      Bytes joined;
      for (auto piece : wrap_pieces(*plan, *in, erased)) joined.insert(joined.end(), piece.begin(), piece.end());
      CHECK(joined == whole);
      CHECK(whole.size() % 0x100000 == 0);
    }
  }
}

TEST_CASE("variable data follows the name without padding; the next header is 4-byte aligned") {
  // "CustomMode": NameSize 0x16, so with a 0x3c header the data starts at 0x52 (not 4-aligned),
  // and a 1-byte datum puts the next header at align4(0x53) = 0x54. Seen in a store OVMF wrote.
  Nv nv;
  nv.vars = {Var{u"CustomMode", Guid::of("c076ec0c-7028-4399-a072-71ee5c448b9f"), 3, 0x3f, Bytes{std::byte{0}}},
             Var{u"certdb", Guid::of("d9bee56e-75dc-49d9-b4d7-b534210f637a"), 0x27, 0x3f, filled(4, 0)}};
  const Image img = parse_ok(build_nv(nv));
  const auto& v = img.nvstore->variables;
  REQUIRE(v.size() == 2);
  CHECK(v[0].data_offset == 0x64 + 0x3c + 0x16);
  CHECK(v[1].offset == 0x64 + 0x54);
  CHECK(v[1].name == "certdb");
}

TEST_CASE("volumes only at 8-byte aligned offsets, also right after an ELF header (fuzzer finding)") {
  // An ELF64 header with two program headers and the Xen note ends at 0xc4, which is not 8-byte
  // aligned. A volume placed right there used to be accepted; wrapping such an image writes a new
  // header over [0, 0xc4) and the re-parse, which looks only at aligned offsets, found no volume.
  Fv fv;
  fv.length = 0x1000;
  const ElfSpec spec{.cls = 64, .paddr = 0x100000, .load_size = 0xc4 + 0x1000, .entry = 0x100000, .align = 4, .varstore_size = 0xc4};
  Bytes unaligned = concat({filled(0xc4, 0), build_fv(fv)});
  overlay_elf(unaligned, spec);
  CHECK(parse_err(unaligned) == "offset 0x0: no firmware volume found (no \"_FVH\" signature at an 8-byte aligned volume header)");

  Bytes aligned = concat({filled(0xc8, 0), build_fv(fv)});
  overlay_elf(aligned, {.cls = 64, .paddr = 0x100000, .load_size = 0xc8 + 0x1000, .entry = 0x100000, .align = 4, .varstore_size = 0xc8});
  const Image img = parse_ok(aligned);
  REQUIRE(img.elf);
  CHECK(img.elf->header_end == 0xc4);
  REQUIRE(img.volumes.size() == 1);
  CHECK(img.volumes[0].offset == 0xc8);
  // Whatever parses and plans must re-parse after the wrap, with the same volume.
  WrapOptions o;
  o.force = true;
  o.entry_offset = 0xc8;
  auto plan = plan_wrap(img, aligned, o);
  if (!plan) FAIL(to_string(plan.error()));
  const Image again = parse_ok(apply_wrap(*plan, aligned));
  REQUIRE(again.volumes.size() == 1);
  CHECK(again.volumes[0].offset == 0xc8);
}

TEST_CASE("Boot#### and friends of the global vendor show their load option's description") {
  auto load_option = [](std::u16string desc, bool terminated) {
    Bytes b = {std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{4}, std::byte{0}};
    for (char16_t c : desc) b.insert(b.end(), {std::byte(c & 0xff), std::byte(c >> 8)});
    if (terminated) b.insert(b.end(), {std::byte{0}, std::byte{0}});
    b.insert(b.end(), {std::byte{0x7f}, std::byte{0xff}, std::byte{4}, std::byte{0}});  // end of device path
    return b;
  };
  const Guid other = Guid::of("d719b2cb-3d3a-4596-a3bc-dad00e67656f");
  Nv nv;
  nv.vars = {Var{u"Boot0009", guids::kGlobalVariable, 7, 0x3f, load_option(u"elfwrap-nvram-entry", true)},
             Var{u"Driver00A1", guids::kGlobalVariable, 7, 0x3f, load_option(u"d\u00e9j\u00e0", true)},
             Var{u"Boot0002", guids::kGlobalVariable, 7, 0x3f, load_option(u"no terminator", false)},
             Var{u"Boot0003", other, 7, 0x3f, load_option(u"other vendor", true)},
             Var{u"Boot000a", guids::kGlobalVariable, 7, 0x3f, load_option(u"lower-case hex", true)},
             Var{u"BootOrder", guids::kGlobalVariable, 7, 0x3f, load_option(u"not an option", true)},
             Var{u"Boot0004", guids::kGlobalVariable, 7, 0x3f, Bytes{std::byte{1}}}};
  const Image img = parse_ok(build_nv(nv));
  const auto& v = img.nvstore->variables;
  REQUIRE(v.size() == 7);
  CHECK(v[0].load_option_description == "elfwrap-nvram-entry");
  CHECK(v[1].load_option_description == "d\xc3\xa9j\xc3\xa0");
  CHECK_FALSE(v[2].load_option_description);
  CHECK_FALSE(v[3].load_option_description);
  CHECK_FALSE(v[4].load_option_description);
  CHECK_FALSE(v[5].load_option_description);
  CHECK_FALSE(v[6].load_option_description);
  CHECK(to_json(*img.nvstore)["variables"][0]["load_option_description"] == "elfwrap-nvram-entry");
  CHECK_FALSE(to_json(*img.nvstore)["variables"][2].contains("load_option_description"));
}

TEST_CASE("a variable header whose write was interrupted is skipped as edk2 skips it, with a warning (crash-test finding)") {
  for (bool auth : {true, false}) {
    Nv nv;
    nv.authenticated = auth;
    nv.vars = {Var{u"Kept"}, Var{u"Torn"}};
    Bytes region = build_nv(nv);
    const Image whole = parse_ok(region);
    REQUIRE(whole.nvstore->variables.size() == 2);
    const auto& t = whole.nvstore->variables[1];
    // What a flash holds when the emulator died while the firmware programmed the header byte
    // by byte: StartId, and whatever came before NameSize; the rest still erased.
    const uint64_t name_size_at = t.offset + (auth ? 0x24 : 0x08);
    for (uint64_t i = name_size_at; i < t.end; ++i) region[i] = std::byte{0xff};
    region[t.offset + 2] = std::byte{0xff};  // State not yet programmed
    auto img = parse_image(region);
    REQUIRE(img);
    const auto& v = img->nvstore->variables;
    REQUIRE(v.size() == 2);
    CHECK(v[0].name == "Kept");
    CHECK(v[0].state == VarState::added);
    CHECK(v[1].torn);
    CHECK(v[1].data_size == 0);
    CHECK(v[1].state == VarState::invalid);
    CHECK(img->nvstore->live_variables() == 1);
    CHECK(img->nvstore->free_offset == v[1].offset + (auth ? 0x3c : 0x20));
    REQUIRE(img->warnings.size() == 1);
    CHECK(img->warnings[0].message.find("not completely written") != std::string::npos);
    CHECK(to_json(*img->nvstore)["variables"][1]["torn"] == true);
  }
}

TEST_CASE("a StartId cut short by an interrupted write ends the walk as edk2's does, with a warning (CI crash-test finding)") {
  for (uint16_t partial : {uint16_t{0xffaa}, uint16_t{0x55ff}, uint16_t{0xffff}}) {
    Nv nv;
    nv.vars = {Var{u"Kept"}, Var{u"Cut"}};
    Bytes region = build_nv(nv);
    const Image whole = parse_ok(region);
    REQUIRE(whole.nvstore->variables.size() == 2);
    const uint64_t at = whole.nvstore->variables[1].offset;
    region[at] = std::byte(partial & 0xff);
    region[at + 1] = std::byte(partial >> 8);
    auto img = parse_image(region);
    REQUIRE(img);
    REQUIRE(img->nvstore->variables.size() == 1);
    CHECK(img->nvstore->variables[0].name == "Kept");
    CHECK(img->nvstore->free_offset == at);
    bool said = false;
    for (const auto& w : img->warnings) said = said || w.message.find("not completely written") != std::string::npos;
    CHECK(said);
  }
  // Anything else there is still an error.
  Nv nv;
  nv.vars = {Var{u"Kept"}, Var{u"Bad"}};
  Bytes region = build_nv(nv);
  const uint64_t at = parse_ok(region).nvstore->variables[1].offset;
  region[at] = std::byte{0x12};
  region[at + 1] = std::byte{0x34};
  auto img = parse_image(region);
  REQUIRE_FALSE(img);
  CHECK(to_string(img.error()).find("StartId 0x3412 is not 0x55aa") != std::string::npos);
}
