#include "elfwrap/compat.hpp"

#include "elfwrap/wrap.hpp"

namespace elfwrap {
namespace {

const char* layout_name(const NvLayout* l) { return l ? l->name : "none"; }

void differ(CompatReport& r, std::string why) { r.differences.push_back(std::move(why)); }

uint64_t code_size(const Image& img) {
  const uint64_t nv = img.nvstore && img.nvstore->layout ? img.nvstore->layout->region_size : 0;
  return img.size - nv;
}

}  // namespace

CompatReport check_vars(const Image& code, const Image& vars) {
  CompatReport r;
  const NvLayout* want = expected_layout(code);
  const NvStore* nv = vars.nvstore ? &*vars.nvstore : nullptr;
  if (!first_code_volume(code)) {
    differ(r, "the CODE image has no code volume (it is a VARS file, not firmware)");
    return r;
  }
  if (!nv || !nv->fv_present || vars.volumes.size() != 1) {
    differ(r, "the VARS file is not a single NV volume with a variable store");
    return r;
  }
  r.facts.push_back("CODE: " + hex(code_size(code)) + " bytes of code, expects the " + layout_name(want) + " NV layout");
  r.facts.push_back("VARS: " + hex(vars.size) + " bytes, " + layout_name(nv->layout) + " layout, " + std::to_string(nv->live_variables()) +
                    " live variable(s)");
  if (!want) differ(r, "cannot tell which NV layout the CODE image expects (its size " + hex(code.size) + " fits no OVMF flash)");
  if (!nv->layout) differ(r, "the VARS file's NV volume (" + hex(vars.size) + " bytes) matches no OVMF layout");
  if (want && nv->layout && want != nv->layout)
    differ(r, std::string("layout mismatch: the CODE image expects ") + want->name + " (variable store " + hex(want->varstore_size) +
                  ", FTW working block at " + hex(want->ftw_working_offset) + ", spare at " + hex(want->ftw_spare_offset) +
                  ") but the VARS file is " + nv->layout->name + " (variable store " + hex(nv->layout->varstore_size) +
                  ", FTW working block at " + hex(nv->layout->ftw_working_offset) + "): the firmware would not find the variables");
  if (!nv->authenticated) differ(r, "the variable store is not in the authenticated format OVMF uses");
  if (want && nv->layout == want && nv->store_size != want->varstore_size - 0x48)
    differ(r, "variable store Size " + hex(nv->store_size) + " is not the layout's " + hex(want->varstore_size - 0x48));
  if (!nv->ftw || !nv->ftw->signature_ok) differ(r, "no FTW working block signature where the layout puts it");
  if (nv->layout && vars.size != nv->layout->region_size)
    differ(r, "the VARS file is " + hex(vars.size) + " bytes, not the layout's " + hex(nv->layout->region_size) +
                  " (trailing bytes would shift the code after it)");
  return r;
}

CompatReport check_update(const Image& o, const Image& n) {
  CompatReport r;
  const NvLayout *lo = expected_layout(o), *ln = expected_layout(n);
  r.facts.push_back("OLD: " + hex(o.size) + " bytes, " + flavor_name(o.reset_vector.flavor) + ", NV layout " + layout_name(lo));
  r.facts.push_back("NEW: " + hex(n.size) + " bytes, " + flavor_name(n.reset_vector.flavor) + ", NV layout " + layout_name(ln));
  if (o.size != n.size)
    differ(r, "total size changes from " + hex(o.size) + " to " + hex(n.size) +
                  ": the firmware moves in guest memory and saved or migrating guests no longer match");
  if (o.size % kMiB == 0 && n.size % kMiB != 0)
    differ(r, "NEW is not a whole number of MiB (" + hex(n.size) + "): hvmloader would misplace it");
  const bool pow2_o = (o.size & (o.size - 1)) == 0, pow2_n = (n.size & (n.size - 1)) == 0;
  if (pow2_o != pow2_n || (pow2_o && o.size != n.size))
    differ(r, "power-of-two size class changes (" + hex(o.size) + " -> " + hex(n.size) + ")");
  if (lo != ln)
    differ(r, std::string("NV layout family changes from ") + layout_name(lo) + " to " + layout_name(ln) +
                  ": existing VARS files would be read where the firmware does not keep variables");
  if (o.reset_vector.flavor != n.reset_vector.flavor)
    differ(r, std::string("reset-vector flavor changes from ") + flavor_name(o.reset_vector.flavor) + " to " +
                  flavor_name(n.reset_vector.flavor) + (n.reset_vector.flavor != Flavor::xen_pvh ? ": PVH guests cannot boot NEW" : ""));
  return r;
}

}  // namespace elfwrap
