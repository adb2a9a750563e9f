// elfwrap inspect IMAGE [--json] [--strict]
#include "elfwrap/json.hpp"
#include "tools/elfwrap/driver.hpp"
#include "tools/elfwrap/render.hpp"

namespace elfwrap::cli {

Runner add_inspect(CLI::App& app) {
  struct Opts {
    std::string image;
    bool json = false, strict = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("inspect", "Explain a firmware image: ELF header, volumes, NV store, reset vector");
  sub->add_option("IMAGE", o->image, "OVMF.fd, OVMF_CODE.fd, OVMF_VARS.fd or an ELF-wrapped image")->required();
  sub->add_flag("--json", o->json, "print the model as JSON (schema in README.md)");
  sub->add_flag("--strict", o->strict, "treat warnings (bad checksums, unknown GUIDs, ...) as failure");
  return [o]() {
    auto img = load_image(o->image);
    if (!img) return kExitFail;
    if (o->json) {
      nlohmann::json j = to_json(*img);
      j["file"] = o->image;
      print_json(j);
    } else {
      render_inspect(std::cout, o->image, *img);
    }
    return (o->strict && !img->warnings.empty()) ? kExitFail : kExitOk;
  };
}

}  // namespace elfwrap::cli
