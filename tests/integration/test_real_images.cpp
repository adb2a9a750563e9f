// Debian's ovmf package: the model matches docs/formats.md and UEFIExtract's report.
#include <doctest/doctest.h>

#include "elfwrap/lief_check.hpp"

#include <algorithm>
#include <sstream>

#include "elfwrap/image.hpp"
#include "tests/integration/run.hpp"

using namespace elfwrap;

namespace {

const std::string kOvmf = "/usr/share/ovmf/OVMF.fd";
const std::string kCode = "/usr/share/OVMF/OVMF_CODE.fd";
const std::string kCode4M = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const std::string kVars = "/usr/share/OVMF/OVMF_VARS.fd";
const std::string kVars4M = "/usr/share/OVMF/OVMF_VARS_4M.fd";

Image parse_file(const std::string& path) {
  REQUIRE_MESSAGE(it::exists(path), path << " missing: run scripts/setup.sh (Debian package ovmf)");
  auto r = parse_image(it::read_bytes(path), {&lief_cross_check});
  if (!r) FAIL(to_string(r.error()));
  return std::move(r).value();
}

struct UefiVolume {
  uint64_t base, size;
  std::string guid;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Top-level "Volume" rows of UEFIExtract's report (name column "- GUID": one dash = top level).
std::vector<UefiVolume> uefiextract_volumes(const std::string& image) {
  it::TempDir t;
  const std::string copy = t.path("image.fd");
  it::write_bytes(copy, it::read_bytes(image));
  const it::Result r = it::run({"UEFIExtract", copy, "report"});
  REQUIRE(r.status == 0);
  std::istringstream in(it::read_text(copy + ".report.txt"));
  std::vector<UefiVolume> vols;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cols;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, '|');) cols.push_back(trim(c));
    if (cols.size() < 6 || cols[0] != "Volume" || cols[5].rfind("- ", 0) != 0) continue;
    vols.push_back({std::stoull(cols[2], nullptr, 16), std::stoull(cols[3], nullptr, 16), lower(cols[5].substr(2))});
  }
  return vols;
}

void check_against_uefiextract(const std::string& path) {
  const Image img = parse_file(path);
  const auto theirs = uefiextract_volumes(path);
  REQUIRE(theirs.size() == img.volumes.size());
  for (size_t i = 0; i < theirs.size(); ++i) {
    CAPTURE(i);
    CHECK(theirs[i].base == img.volumes[i].offset);
    CHECK(theirs[i].size == img.volumes[i].length);
    // UEFIExtract names a volume by its FV name GUID when it has one, else by its file system.
    const auto& fv = img.volumes[i];
    CHECK(theirs[i].guid == (fv.name ? fv.name->str() : fv.filesystem.str()));
  }
}

}  // namespace

TEST_CASE("Debian OVMF.fd (2 MiB): volumes, NV layout, stock reset vector with 5 GUIDed entries") {
  const Image img = parse_file(kOvmf);
  CHECK(img.size == 0x200000);
  REQUIRE(img.volumes.size() == 3);
  CHECK(img.volumes[0].offset == 0);
  CHECK(img.volumes[0].length == 0x20000);
  CHECK(img.volumes[0].filesystem.str() == "fff12b8d-7696-4c8b-a985-2747075b4f50");
  CHECK(img.volumes[1].offset == 0x20000);
  CHECK(img.volumes[1].name->str() == "48db5e17-707c-472d-91cd-1613e7ef51b0");
  CHECK(img.volumes[1].filesystem.str() == "8c8ce578-8a3d-4f1c-9935-896185c32dd3");
  CHECK(img.volumes[2].name->str() == "763bed0d-de9f-48f5-81f1-3e90e1b1a015");
  CHECK(img.volumes[2].offset + img.volumes[2].length == 0x200000);
  for (const auto& fv : img.volumes) {
    CHECK(fv.header_length == 0x48);
    CHECK(fv.revision == 2);
    CHECK(fv.attributes == 0x0004feff);
    CHECK(fv.checksum_ok);
  }
  REQUIRE(img.nvstore);
  CHECK(img.nvstore->layout == &kLayout2M);
  CHECK(img.nvstore->authenticated);
  CHECK(img.nvstore->store_size == 0xe000 - 0x48);
  CHECK(img.nvstore->format == 0x5a);
  CHECK(img.nvstore->state == 0xfe);
  CHECK(img.nvstore->ftw->offset == 0xf000);
  CHECK(img.nvstore->ftw->crc_ok);
  CHECK(img.reset_vector.flavor == Flavor::stock);
  REQUIRE(img.reset_vector.guided_table.size() == 5);
  CHECK(img.reset_vector.guided_table[0].guid.str() == "00f771de-1a7e-4fcb-890e-68c77e2fb44e");
  CHECK(img.reset_vector.guided_table[4].guid.str() == "e47a6535-984a-4798-865e-4685a7bf8ec2");
  for (const auto& e : img.reset_vector.guided_table) CHECK(guid_name(e.guid) != nullptr);
  CHECK(img.warnings.empty());
}

TEST_CASE("Debian CODE and VARS files: sizes and layouts from docs/formats.md") {
  const Image code = parse_file(kCode), code4 = parse_file(kCode4M);
  CHECK(code.size == 0x1e0000);
  CHECK(code4.size == 0x37c000);
  CHECK_FALSE(code.nvstore);
  CHECK(code.reset_vector.flavor == Flavor::stock);
  CHECK(code4.reset_vector.flavor == Flavor::stock);
  const Image vars = parse_file(kVars), vars4 = parse_file(kVars4M);
  CHECK(vars.nvstore->layout == &kLayout2M);
  CHECK(vars4.nvstore->layout == &kLayout4M);
  CHECK(vars4.nvstore->ftw->offset == 0x41000);
  CHECK(vars4.nvstore->store_size == 0x40000 - 0x48);
  for (const Image* i : {&code, &code4, &vars, &vars4}) CHECK(i->warnings.empty());
}

TEST_CASE("OVMF.fd is OVMF_VARS.fd followed by OVMF_CODE.fd") {
  const fx::Bytes all = it::read_bytes(kOvmf), vars = it::read_bytes(kVars), code = it::read_bytes(kCode);
  REQUIRE(all.size() == vars.size() + code.size());
  CHECK(std::equal(vars.begin(), vars.end(), all.begin()));
  CHECK(std::equal(code.begin(), code.end(), all.begin() + static_cast<ptrdiff_t>(vars.size())));
}

TEST_CASE("the fixture builder's pristine store is byte-identical to Debian's VARS templates") {
  CHECK(fx::pristine_vars(kLayout2M) == it::read_bytes(kVars));
  CHECK(fx::pristine_vars(kLayout4M) == it::read_bytes(kVars4M));
}

TEST_CASE("the volume list agrees with UEFIExtract's report") {
  for (const auto& f : {kOvmf, kCode, kCode4M, kVars, kVars4M}) {
    CAPTURE(f);
    check_against_uefiextract(f);
  }
}
