// elfwrap [wrap] IMAGE -o OUT ...   and   elfwrap unwrap IMAGE -o RAW
#include "elfwrap/file_io.hpp"
#include "elfwrap/wrap.hpp"
#include "tools/elfwrap/driver.hpp"
#include "tools/common/numbers.hpp"

namespace elfwrap::cli {
namespace {

using tools::number_validator;
using tools::parse_number;

struct WrapArgs {
  std::string image, out, target = "pvh", load, entry, save_vars, vars;
  int elf_class = 64;
  bool force = false, json = false, allow_hole = false;
};

nlohmann::json plan_json(const WrapArgs& a, const WrapPlan& p) {
  return {{"input", a.image},
          {"output", a.out},
          {"target", target_name(p.target)},
          {"source", source_name(p.source)},
          {"elf_class", p.elf_class},
          {"load_address", p.load_address},
          {"entry", p.entry},
          {"entry_offset", p.entry_offset ? nlohmann::json(*p.entry_offset) : nlohmann::json(nullptr)},
          {"image_size", p.image_size},
          {"prefix_size", p.prefix.size()},
          {"layout", p.layout ? nlohmann::json(p.layout->name) : nlohmann::json(nullptr)},
          {"header_size", p.header.size()},
          {"erased", {{"offset", 0}, {"length", p.erase_end}}},
          {"saved_vars", a.save_vars.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.save_vars)},
          {"discarded_variables", a.save_vars.empty() ? p.discarded_variables : 0},
          {"warnings", p.warnings}};
}

// An output that is one of the inputs under another name would replace it (-o may be the
// image itself, by design; --save-vars may not: it would replace the image by its NV region).
Status not_an_input(const std::string& out, const std::vector<std::string>& inputs) {
  auto oid = file_id(out);
  if (!oid) return oid.take_error();
  for (const auto& in : inputs) {
    if (in.empty()) continue;
    auto iid = file_id(in);
    if (iid && *iid == *oid) return plain_error("--save-vars names the input '" + in + "': saving the variables there would replace it");
  }
  return ok();
}

int run_wrap(const WrapArgs& a) {
  std::vector<std::byte> bytes, vars_bytes;
  auto img = load_image(a.image, &bytes);
  if (!img) return kExitFail;
  WrapOptions o;
  o.target = a.target == "hvm" ? Target::hvm : Target::pvh;
  if (!a.load.empty()) o.load_address = parse_number(a.load);
  if (!a.entry.empty()) o.entry_offset = parse_number(a.entry);
  o.elf_class = a.elf_class;
  o.force = a.force;
  o.saving_vars = !a.save_vars.empty();
  o.allow_mmio_hole = a.allow_hole;
  std::optional<Image> vars_img;
  if (!a.vars.empty()) {
    vars_img = load_image(a.vars, &vars_bytes);
    if (!vars_img) return kExitFail;
    o.vars = VarsInput{a.vars, &*vars_img, vars_bytes};
  }
  auto plan = plan_wrap(*img, bytes, o);
  if (!plan) return fail(plan.take_error(), a.image);
  const std::vector<std::byte> erased(plan->erase_end, std::byte{0xff});
  const auto pieces = wrap_pieces(*plan, bytes, erased);
  std::vector<std::byte> saved;
  std::vector<OutputFile> files;
  if (!a.save_vars.empty()) {
    saved = nv_region_before(*plan, bytes);
    if (saved.empty()) return fail(plain_error("there is no variable store to save (--save-vars)"), a.image);
    if (auto st = not_an_input(a.save_vars, {a.image, a.vars}); !st) return fail(st.take_error(), a.save_vars);
    files.push_back({a.save_vars, {saved}});
  }
  files.push_back({a.out, pieces});
  if (auto st = write_files_atomic(files); !st) return fail(st.take_error(), a.out);
  for (const auto& w : plan->warnings) std::cerr << "elfwrap: warning: '" << a.image << "': " << w << "\n";
  if (a.json) {
    print_json(plan_json(a, *plan));
  } else {
    std::cout << a.out << ": ELF" << plan->elf_class << " for " << (plan->target == Target::pvh ? "PVH" : "HVM") << ", "
              << hex(plan->image_size) << " bytes loaded at " << hex(plan->load_address) << ", entry " << hex(plan->entry)
              << "; header in the variable-store area [0x0, " << hex(plan->erase_end) << ")\n";
    if (!a.save_vars.empty()) std::cout << a.save_vars << ": the NV region before wrapping (" << hex(saved.size()) << " bytes)\n";
  }
  return kExitOk;
}

}  // namespace

Runner add_wrap(CLI::App& app) {
  auto a = std::make_shared<WrapArgs>();
  CLI::App* sub = app.add_subcommand("wrap", "Wrap a firmware image as an ELF kernel (the default command)");
  sub->add_option("IMAGE", a->image, "OVMF.fd, OVMF_CODE.fd, or an image with an ELF header (re-wrapped)")->required();
  sub->add_option("-o,--output", a->out, "output file (may be IMAGE itself; written atomically)")->required();
  sub->add_option("--target", a->target,
                  "pvh (default): PVH entry note, loaded at 1 MiB; hvm: loaded to end at 4 GiB, entry 0xfffffff0, no notes")
      ->check(CLI::IsMember({"pvh", "hvm"}));
  sub->add_option("--load-address", a->load, "physical load address (PVH default 0x100000; HVM default 4 GiB - size)")
      ->check(number_validator());
  sub->add_option("--elf-class", a->elf_class, "64 (default: every loader accepts it) or 32 (edk2's OvmfXen shape, fixed)")
      ->check(CLI::IsMember({32, 64}));
  sub->add_option("--entry-offset", a->entry, "offset in the wrapped image of the 32-bit PVH entry (default: detected, end - 0x30)")
      ->check(number_validator());
  sub->add_option("--save-vars", a->save_vars, "first write the NV region (variables) as a VARS file here");
  sub->add_flag("--force", a->force, "wrap even if the variable store holds variables (they are erased)");
  sub->add_option("--vars", a->vars, "CODE-only input: put this VARS file in front instead of an erased store");
  sub->add_flag("--allow-mmio-hole", a->allow_hole,
                "allow a PVH image that ends above 0xfc000000 (the MMIO hole libxl gives PVH guests, e.g. "
                "--load-address 0xffe00000 to share one address with HVM). Stock Xen 4.17 libxc cannot load "
                "there (its xc_dom pads from 0 to the load address); pvhboot can (it populates that window)");
  sub->add_flag("--json", a->json, "print what was done as JSON");
  return [a]() { return run_wrap(*a); };
}

Runner add_unwrap(CLI::App& app) {
  struct Args {
    std::string image, out;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand("unwrap", "Give back the raw flash image of an ELF-wrapped firmware");
  sub->add_option("IMAGE", a->image, "an image with an ELF header (edk2's or elfwrap's)")->required();
  sub->add_option("-o,--output", a->out, "raw flash image to write (atomically)")->required();
  sub->add_flag("--json", a->json, "print what was done as JSON");
  return [a]() {
    std::vector<std::byte> bytes;
    auto img = load_image(a->image, &bytes);
    if (!img) return kExitFail;
    auto plan = plan_unwrap(*img);
    if (!plan) return fail(plan.take_error(), a->image);
    const auto out = apply_unwrap(*plan, bytes);
    if (auto st = write_file_atomic(a->out, out); !st) return fail(st.take_error(), a->out);
    if (a->json)
      print_json({{"input", a->image},
                  {"output", a->out},
                  {"size", out.size()},
                  {"stripped", plan->strip},
                  {"layout", plan->layout ? nlohmann::json(plan->layout->name) : nlohmann::json(nullptr)},
                  {"restored", {{"offset", 0}, {"length", plan->restore_end}}}});
    else
      std::cout << a->out << ": raw flash image, " << hex(out.size()) << " bytes"
                << (plan->layout ? std::string(", pristine ") + plan->layout->name + "-layout variable store" : "") << "\n";
    return kExitOk;
  };
}

}  // namespace elfwrap::cli
