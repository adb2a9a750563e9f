// elfwrap verify IMAGE [--loader xen|qemu|linux-loader|hvmloader|all] [--json]
#include "elfwrap/verify.hpp"
#include "loader/xen_parse.hpp"
#include "tools/elfwrap/driver.hpp"

namespace elfwrap::cli {
namespace {

XenParseFacts xen_facts(std::span<const std::byte> bytes) {
  XenParseFacts f;
  auto r = loader::xen_parse(bytes);
  if (!r) {
    f.log_excerpt = to_string(r.error());
    return f;
  }
  f.rc = r->rc;
  f.pvh = r->pvh;
  f.seg_start = r->seg_start;
  f.seg_end = r->seg_end;
  f.phys32_entry = r->phys32_entry;
  // The last few lines say why it gave up.
  std::string log = r->log;
  size_t cut = log.size(), lines = 0;
  while (cut > 0 && lines < 3) {
    cut = log.rfind('\n', cut - 1);
    if (cut == std::string::npos) { cut = 0; break; }
    ++lines;
  }
  f.log_excerpt = log.substr(cut);
  for (auto& c : f.log_excerpt)
    if (c == '\n') c = ' ';
  return f;
}

nlohmann::json verdict_json(const Verdict& v) {
  return {{"loader", loader_name(v.loader)}, {"ok", v.ok()}, {"problems", v.problems}, {"notes", v.notes},
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
    if (a->loader == "all") loaders = {Loader::xen, Loader::qemu, Loader::linux_loader, Loader::hvmloader};
    else loaders = {*loader_by_name(a->loader)};
    std::vector<Verdict> verdicts;
    for (Loader l : loaders) {
      std::optional<XenParseFacts> facts;
      if (l == Loader::xen && img->elf) facts = xen_facts(bytes);
      verdicts.push_back(verify_for(l, *img, bytes, facts ? &*facts : nullptr));
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
