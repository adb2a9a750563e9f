// elfwrap verify IMAGE [--loader xen|qemu|linux-loader|hvmloader|all] [--json]
#include "elfwrap/verify.hpp"
#ifdef ELFWRAP_WITH_XEN
#include "xencheck/xen_parse.hpp"
#endif
#include "tools/elfwrap/driver.hpp"

namespace elfwrap::cli {
namespace {

// libxenguest's own parse, when elfwrap is built with Xen; otherwise why there is none.
std::optional<XenParseFacts> xen_facts(std::span<const std::byte> bytes, std::string& missing) {
#ifdef ELFWRAP_WITH_XEN
  auto r = xencheck::xen_parse(bytes);
  if (r) return std::move(*r);
  missing = to_string(r.error());
#else
  (void)bytes;
  missing = "this elfwrap was built without Xen's libraries (ELFWRAP_WITH_XEN=OFF); the rules above are elfwrap's own";
#endif
  return std::nullopt;
}

nlohmann::json verdict_json(const Verdict& v) {
  return {{"loader", loader_name(v.loader)},
          {"ok", v.ok()},
          {"problems", v.problems},
          {"notes", v.notes},
          {"entry", v.entry ? nlohmann::json(*v.entry) : nlohmann::json(nullptr)}};
}

}  // namespace

Runner add_verify(CLI::App& app) {
  struct Args {
    std::string image, loader = "all";
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand("verify", "Would Xen, QEMU, linux-loader (Cloud Hypervisor) or hvmloader load it right?");
  sub->add_option("IMAGE", a->image, "a wrapped (or raw) firmware image")->required();
  sub->add_option("--loader", a->loader, "xen | qemu | linux-loader | hvmloader | all (default)")
      ->check(CLI::IsMember({"xen", "qemu", "linux-loader", "hvmloader", "all"}));
  sub->add_flag("--json", a->json, "print the verdicts as JSON");
  return [a]() {
    std::vector<std::byte> bytes;
    auto img = load_image(a->image, &bytes);
    if (!img) return kExitFail;
    std::vector<Loader> loaders;
    if (a->loader == "all")
      loaders = {Loader::xen, Loader::qemu, Loader::linux_loader, Loader::hvmloader};
    else
      loaders = {*loader_by_name(a->loader)};
    std::vector<Verdict> verdicts;
    for (Loader l : loaders) {
      std::optional<XenParseFacts> facts;
      std::string missing;
      if (l == Loader::xen && img->elf) facts = xen_facts(bytes, missing);
      verdicts.push_back(verify_for(l, *img, bytes, facts ? &*facts : nullptr, missing));
    }
    bool all_ok = true;
    for (const auto& v : verdicts) all_ok = all_ok && v.ok();
    if (a->json) {
      nlohmann::json j = {{"file", a->image}, {"ok", all_ok}, {"verdicts", nlohmann::json::array()}};
      for (const auto& v : verdicts) j["verdicts"].push_back(verdict_json(v));
      print_json(j);
    } else {
      for (const auto& v : verdicts) {
        std::cout << loader_name(v.loader) << ": " << (v.ok() ? "ok" : "FAIL") << "\n";
        for (const auto& p : v.problems) std::cout << "  problem: " << p << "\n";
        for (const auto& n : v.notes) std::cout << "  " << n << "\n";
      }
    }
    return all_ok ? kExitOk : kExitFail;
  };
}

}  // namespace elfwrap::cli
