// elfwrap: turn OVMF flash images into ELF "kernels" for Xen PVH, QEMU and Cloud Hypervisor,
// and explain firmware images. Thin driver: options, call the library, render, exit code.
#include <string_view>
#include <vector>

#include "elfwrap/file_io.hpp"
#include "elfwrap/image.hpp"
#include "tools/elfwrap/driver.hpp"
#include "tools/elfwrap/lief_plugin.hpp"

namespace elfwrap::cli {

std::optional<Image> load_image(const std::string& path, std::vector<std::byte>* bytes_out, bool rescue) {
  auto bytes = read_file(path);
  if (!bytes) {
    print_error(bytes.error());
    return std::nullopt;
  }
  ParseOptions opts;
  opts.elf_cross_check = &lazy_lief_cross_check;  // LIEF's second opinion, loaded when there is an ELF header
  opts.rescue = rescue;
  auto img = parse_image(*bytes, opts);
  if (!img) {
    print_error(with_file(img.error(), path));
    return std::nullopt;
  }
  for (const auto& w : img->warnings) print_warning(path, w);  // every command shows them
  if (bytes_out) *bytes_out = std::move(*bytes);
  return std::move(img).value();
}

namespace {

constexpr const char* kFooter = R"(Examples:
  elfwrap OVMF.fd -o ovmf-pvh.elf            wrap for Xen PVH (load at 1 MiB), then in xl.cfg:
                                              type = "pvh"
                                              kernel = "/path/to/ovmf-pvh.elf"
  elfwrap inspect OVMF.fd --json             what the image is made of
  elfwrap verify ovmf-pvh.elf --loader all   would Xen, QEMU, Cloud Hypervisor load it?
  elfwrap unwrap ovmf-pvh.elf -o OVMF.fd     back to a raw flash image
Exit status: 0 success, 1 failure (bad input, refused, check failed), 2 usage error.)";

// `elfwrap IMAGE -o OUT` means `elfwrap wrap IMAGE -o OUT`.
std::vector<std::string> with_default_command(int argc, char** argv, const CLI::App& app) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return args;
  const std::string& first = args.front();
  const bool is_option = !first.empty() && first[0] == '-';
  bool is_command = false;
  for (const CLI::App* sub : app.get_subcommands({}))
    if (sub->get_name() == first) is_command = true;
  if (!is_option && !is_command) args.insert(args.begin(), "wrap");
  return args;
}

}  // namespace
}  // namespace elfwrap::cli

int main(int argc, char** argv) {
  using namespace elfwrap::cli;
  CLI::App app{"elfwrap: OVMF flash images as ELF kernels for Xen PVH, QEMU -kernel and Cloud Hypervisor"};
  app.name("elfwrap");
  app.footer(kFooter);
  app.set_version_flag("--version", std::string("elfwrap ") + ELFWRAP_VERSION);
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, Runner>> runners;
  for (auto add : {add_inspect, add_wrap, add_unwrap, add_verify, add_vars, add_compat}) {
    Runner r = add(app);
    runners.emplace_back(app.get_subcommands({}).back(), std::move(r));
  }
  std::vector<std::string> args = with_default_command(argc, argv, app);
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector in reverse order
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "elfwrap: error: " << e.what() << "\n(run 'elfwrap --help' for usage)\n";
    return kExitUsage;
  }
  for (auto& [sub, run] : runners)
    if (sub->parsed()) return run();
  return kExitUsage;
}
