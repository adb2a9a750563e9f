// elfwrap vars list|extract|blank|check   and   elfwrap compat OLD NEW
#include "elfwrap/compat.hpp"
#include "elfwrap/file_io.hpp"
#include "elfwrap/json.hpp"
#include "elfwrap/nv_template.hpp"
#include "tools/elfwrap/driver.hpp"

namespace elfwrap::cli {
namespace {

std::string first_bytes(std::span<const std::byte> bytes, const Variable& v) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (uint64_t i = 0; i < v.data_size && i < 16 && v.data_offset + i < bytes.size(); ++i) {
    const auto b = std::to_integer<uint8_t>(bytes[v.data_offset + i]);
    s += {digits[b >> 4], digits[b & 15]};
  }
  return s;
}

void render_list(const std::string& file, const NvStore& nv, std::span<const std::byte> bytes) {
  std::cout << file << ": NV region at " << hex(nv.offset) << ", layout " << (nv.layout ? nv.layout->name : "unknown") << ", "
            << (nv.authenticated ? "authenticated" : "plain") << " store at " << hex(nv.store_offset) << " size " << hex(nv.store_size)
            << " format " << hex(nv.format) << " state " << hex(nv.state) << "\n";
  for (const auto& v : nv.variables) {
    const char* vn = guid_name(v.vendor);
    std::cout << "  " << v.name << "  " << v.vendor.str() << (vn ? std::string(" (") + vn + ")" : "") << "  "
              << var_attributes_str(v.attributes) << "  " << (v.torn ? "torn" : var_state_name(v.state)) << "  " << v.data_size
              << " bytes  " << first_bytes(bytes, v) << (v.data_size > 16 ? "..." : "")
              << (v.load_option_description ? "  \"" + *v.load_option_description + "\"" : "") << "\n";
  }
  std::cout << "  " << nv.live_variables() << " live of " << nv.variables.size() << " variable header(s); free "
            << hex(nv.store_offset + nv.store_size - nv.free_offset) << " bytes from " << hex(nv.free_offset) << "\n";
  if (nv.ftw)
    std::cout << "  FTW working block at " << hex(nv.ftw->offset) << ": "
              << (nv.ftw->signature_ok ? std::string(nv.ftw->valid ? "valid" : "not valid") + ", CRC " + (nv.ftw->crc_ok ? "ok" : "BAD")
                                       : std::string("no signature"))
              << "\n";
}

Runner add_list(CLI::App& vars) {
  struct A {
    std::string image;
    bool json = false;
  };
  auto a = std::make_shared<A>();
  CLI::App* sub = vars.add_subcommand("list", "List the variable store: header, every variable, free space, FTW state");
  sub->add_option("IMAGE", a->image, "a VARS file or a full flash image")->required();
  sub->add_flag("--json", a->json, "print as JSON");
  return [a]() {
    std::vector<std::byte> bytes;
    auto img = load_image(a->image, &bytes, /*rescue=*/true);
    if (!img) return kExitFail;
    if (!img->nvstore || !img->nvstore->fv_present)
      return fail(plain_error("no variable store (no NV volume with a store header)"), a->image);
    if (a->json) {
      auto j = to_json(*img->nvstore);
      j["file"] = a->image;
      for (size_t i = 0; i < img->nvstore->variables.size(); ++i)
        j["variables"][i]["first_bytes"] = first_bytes(bytes, img->nvstore->variables[i]);
      print_json(j);
    } else {
      render_list(a->image, *img->nvstore, bytes);
    }
    return kExitOk;
  };
}

Runner add_extract(CLI::App& vars) {
  struct A {
    std::string image, out;
  };
  auto a = std::make_shared<A>();
  CLI::App* sub = vars.add_subcommand("extract", "Write the NV region of an image as a VARS file (usable as QEMU pflash)");
  sub->add_option("IMAGE", a->image, "a full flash image")->required();
  sub->add_option("-o,--output", a->out, "VARS file to write (atomically)")->required();
  return [a]() {
    std::vector<std::byte> bytes;
    auto img = load_image(a->image, &bytes, /*rescue=*/true);
    if (!img) return kExitFail;
    const NvStore* nv = img->nvstore ? &*img->nvstore : nullptr;
    if (!nv || !nv->fv_present || !nv->layout) return fail(plain_error("no NV region of a known layout to extract"), a->image);
    const auto region = std::span<const std::byte>(bytes).subspan(nv->offset, nv->layout->region_size);
    if (auto st = write_file_atomic(a->out, region); !st) return fail(st.take_error(), a->out);
    std::cout << a->out << ": " << hex(region.size()) << "-byte VARS file (" << nv->layout->name << " layout), " << nv->live_variables()
              << " live variable(s)\n";
    return kExitOk;
  };
}

Runner add_blank(CLI::App& vars) {
  struct A {
    std::string layout, out;
  };
  auto a = std::make_shared<A>();
  CLI::App* sub = vars.add_subcommand("blank", "Write a pristine VARS file, byte-identical to edk2's template");
  sub->add_option("--layout", a->layout, "0x20000 (1/2 MiB builds) or 0x84000 (4 MiB builds)")
      ->required()
      ->check(CLI::IsMember({"0x20000", "0x84000"}));
  sub->add_option("-o,--output", a->out, "VARS file to write (atomically)")->required();
  return [a]() {
    const auto blank = blank_nv_region(*layout_by_name(a->layout));
    if (auto st = write_file_atomic(a->out, blank); !st) return fail(st.take_error(), a->out);
    std::cout << a->out << ": pristine " << a->layout << "-layout VARS file\n";
    return kExitOk;
  };
}

void render_report(const CompatReport& r, bool json, const nlohmann::json& extra) {
  if (json) {
    nlohmann::json j = extra;
    j["ok"] = r.ok();
    j["differences"] = r.differences;
    j["facts"] = r.facts;
    print_json(j);
    return;
  }
  for (const auto& f : r.facts) std::cout << f << "\n";
  for (const auto& d : r.differences) std::cout << "incompatible: " << d << "\n";
  std::cout << (r.ok() ? "compatible\n" : "NOT compatible\n");
}

Runner add_check(CLI::App& vars) {
  struct A {
    std::string code, vars;
    bool json = false;
  };
  auto a = std::make_shared<A>();
  CLI::App* sub = vars.add_subcommand("check", "Is this VARS file compatible with this CODE image? (exit 1 if not)");
  sub->add_option("CODE", a->code, "OVMF_CODE*.fd, or a full image")->required();
  sub->add_option("VARS", a->vars, "OVMF_VARS*.fd")->required();
  sub->add_flag("--json", a->json, "print as JSON");
  return [a]() {
    auto code = load_image(a->code);
    auto vars = code ? load_image(a->vars) : std::nullopt;
    if (!code || !vars) return kExitFail;
    const CompatReport r = check_vars(*code, *vars);
    render_report(r, a->json, {{"code", a->code}, {"vars", a->vars}});
    return r.ok() ? kExitOk : kExitFail;
  };
}

}  // namespace

Runner add_vars(CLI::App& app) {
  CLI::App* vars = app.add_subcommand("vars", "UEFI variable stores: list, extract, blank, check");
  vars->require_subcommand(1);
  std::vector<std::pair<CLI::App*, Runner>> subs;
  for (auto add : {add_list, add_extract, add_blank, add_check}) {
    Runner r = add(*vars);
    subs.emplace_back(vars->get_subcommands({}).back(), std::move(r));
  }
  return [subs]() {
    for (const auto& [sub, run] : subs)
      if (sub->parsed()) return run();
    return kExitUsage;
  };
}

Runner add_compat(CLI::App& app) {
  struct A {
    std::string old_img, new_img;
    bool json = false;
  };
  auto a = std::make_shared<A>();
  CLI::App* sub = app.add_subcommand("compat", "Can NEW firmware replace OLD under running or saved guests? (exit 1 if not)");
  sub->add_option("OLD", a->old_img, "the firmware image in use")->required();
  sub->add_option("NEW", a->new_img, "the firmware image to swap in")->required();
  sub->add_flag("--json", a->json, "print as JSON");
  return [a]() {
    auto o = load_image(a->old_img);
    auto n = o ? load_image(a->new_img) : std::nullopt;
    if (!o || !n) return kExitFail;
    const CompatReport r = check_update(*o, *n);
    render_report(r, a->json, {{"old", a->old_img}, {"new", a->new_img}});
    return r.ok() ? kExitOk : kExitFail;
  };
}

}  // namespace elfwrap::cli
