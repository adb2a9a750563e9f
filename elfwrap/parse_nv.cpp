// The NV store: variable store header, variables (authenticated or plain format), and the
// fault-tolerant-write working block. Layouts from OvmfPkg/VarStore.fdf.inc.
#include <array>
#include <cctype>

#include "elfwrap/layout.hpp"
#include "elfwrap/parse_internal.hpp"

namespace elfwrap {

const NvLayout kLayout2M{"0x20000", 0x20000, 0xe000, 0xe000, 0xf000, 0x1000, 0x10000, 0x10000};
const NvLayout kLayout4M{"0x84000", 0x84000, 0x40000, 0x40000, 0x41000, 0x1000, 0x42000, 0x42000};

const NvLayout* layout_by_name(std::string_view name) {
  if (name == kLayout2M.name) return &kLayout2M;
  if (name == kLayout4M.name) return &kLayout4M;
  return nullptr;
}

const NvLayout* layout_by_region_size(uint64_t size) {
  if (size == kLayout2M.region_size) return &kLayout2M;
  if (size == kLayout4M.region_size) return &kLayout4M;
  return nullptr;
}

namespace {

constexpr uint16_t kStartId = 0x55aa;
constexpr uint64_t kStoreHeaderSize = 0x1c, kAuthVarHeader = 0x3c, kPlainVarHeader = 0x20;
constexpr uint64_t kFtwHeaderSize = 0x20;

VarState decode_var_state(uint8_t s) {
  if (s == 0x3f) return VarState::added;
  if (s == 0x3e) return VarState::in_deleted_transition;
  if (s == 0x7f) return VarState::header_valid_only;
  if ((s & 0x02) == 0) return VarState::deleted;  // VAR_DELETED (0xfd) programmed
  return VarState::invalid;
}

void append_utf8(std::string& out, uint32_t cp) {
  auto put = [&](uint32_t v) { out.push_back(static_cast<char>(v)); };
  if (cp < 0x80) {
    put(cp);
  } else if (cp < 0x800) {
    put(0xc0 | (cp >> 6));
    put(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    put(0xe0 | (cp >> 12));
    put(0x80 | ((cp >> 6) & 0x3f));
    put(0x80 | (cp & 0x3f));
  } else {
    put(0xf0 | (cp >> 18));
    put(0x80 | ((cp >> 12) & 0x3f));
    put(0x80 | ((cp >> 6) & 0x3f));
    put(0x80 | (cp & 0x3f));
  }
}

// UTF-16LE name up to its NUL, as UTF-8; unpaired surrogates become U+FFFD so the model
// only ever holds valid UTF-8.
std::string read_name(const ByteView& v, uint64_t off, uint32_t size) {
  std::string s;
  for (uint64_t i = 0; i + 1 < size; i += 2) {
    uint32_t c = *v.le<uint16_t>(off + i);
    if (c == 0) break;
    if (c >= 0xd800 && c <= 0xdbff && i + 3 < size) {
      const uint32_t lo = *v.le<uint16_t>(off + i + 2);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        append_utf8(s, 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00));
        i += 2;
        continue;
      }
    }
    append_utf8(s, (c >= 0xd800 && c <= 0xdfff) ? 0xfffd : c);
  }
  return s;
}

bool is_load_option_name(const std::string& n) {
  for (std::string_view prefix : {"Boot", "Driver", "SysPrep", "PlatformRecovery"}) {
    if (n.size() != prefix.size() + 4 || n.compare(0, prefix.size(), prefix) != 0) continue;
    bool hex4 = true;
    for (size_t i = prefix.size(); i < n.size(); ++i)
      hex4 = hex4 && std::isxdigit(static_cast<unsigned char>(n[i])) && !std::islower(static_cast<unsigned char>(n[i]));
    if (hex4) return true;
  }
  return false;
}

// EFI_LOAD_OPTION: UINT32 Attributes, UINT16 FilePathListLength, CHAR16 Description[] (NUL
// terminated), then the device path and optional data. Nothing when the NUL is missing.
std::optional<std::string> load_option_description(const ByteView& st, uint64_t data_off, uint32_t size) {
  auto v = st.sub(data_off, size);
  if (!v || size < 8) return std::nullopt;
  uint64_t end = 6;
  while (end + 1 < size && *v->le<uint16_t>(end) != 0) end += 2;
  if (end + 1 >= size) return std::nullopt;
  return read_name(*v, 6, static_cast<uint32_t>(end - 6 + 2));
}

// One variable header at `off` (store-relative). Returns nullopt-like end marker via Variable.end == 0.
Expected<Variable> read_variable(const ByteView& st, uint64_t off, bool auth, const std::string& path) {
  const uint64_t hdr = auth ? kAuthVarHeader : kPlainVarHeader;
  EW_CHECK(need_sub(st, off, hdr, path, "variable header"));
  Variable var;
  var.offset = st.abs(off);
  var.state_raw = *st.le<uint8_t>(off + 2);
  var.state = decode_var_state(var.state_raw);
  var.attributes = *st.le<uint32_t>(off + 4);
  var.name_size = *st.le<uint32_t>(off + (auth ? 0x24 : 0x08));
  var.data_size = *st.le<uint32_t>(off + (auth ? 0x28 : 0x0c));
  var.vendor.bytes = *st.array<16>(off + (auth ? 0x2c : 0x10));
  const uint64_t name_off = off + hdr;
  // A header whose programming was interrupted (power loss, a killed flash emulator) still has
  // an erased State, Attributes, NameSize or DataSize: edk2 reads its sizes as 0
  // (NameSizeOfVariable/DataSizeOfVariable in MdeModulePkg Variable), so the walk goes on right
  // after the header, and the firmware reclaims the space at its next boot. The same here.
  if (var.state_raw == 0xff || var.attributes == 0xffffffff || var.name_size == 0xffffffff || var.data_size == 0xffffffff) {
    var.torn = true;
    var.name_size = var.data_size = 0;
    var.data_offset = st.abs(name_off);
    var.end = st.abs(name_off);
    return var;
  }
  if (var.name_size == 0 || var.name_size % 2 || !st.contains(name_off, var.name_size))
    return error_at(
        var.offset, path,
        "NameSize " + hex(var.name_size) + " is odd, zero or runs past the end of the variable store at " + hex(st.abs(st.size())));
  // No padding between name and data: edk2's GET_PAD_SIZE is 0 on x86 (ALIGNMENT 1 in
  // MdeModulePkg/Include/Guid/VariableFormat.h); only the next header is 4-byte aligned.
  const uint64_t data_off = name_off + var.name_size;
  if (!st.contains(data_off, var.data_size))
    return error_at(var.offset, path,
                    "DataSize " + hex(var.data_size) + " runs past the end of the variable store at " + hex(st.abs(st.size())));
  var.name = read_name(st, name_off, var.name_size);
  var.data_offset = st.abs(data_off);
  if (var.vendor == guids::kGlobalVariable && is_load_option_name(var.name))
    var.load_option_description = load_option_description(st, data_off, var.data_size);
  var.end = st.abs(align_up(data_off + var.data_size, 4));
  return var;
}

Status walk_variables(const ByteView& st, bool auth, const std::string& spath, NvStore& nv, std::vector<Warning>& warns) {
  uint64_t off = kStoreHeaderSize;  // already 4-aligned
  const uint64_t hdr = auth ? kAuthVarHeader : kPlainVarHeader;
  while (off < st.size()) {
    const std::string path = spath + "/var[" + std::to_string(nv.variables.size()) + "]";
    const uint64_t room = st.size() - off;
    if (st.all_equal(off, std::min(room, hdr), 0xff)) break;  // free space
    EW_TRY(uint16_t id, need_le<uint16_t>(st, off, path, "StartId"));
    // A StartId whose bytes are each either 0x55aa's or still erased was being written when the
    // flash went away (a killed emulator, a power loss): edk2's IsValidVariableHeader() is false
    // there, so its walk ends at it and the firmware reclaims the store at its next boot.
    const bool lo_partial = (id & 0xff) == 0xaa || (id & 0xff) == 0xff, hi_partial = (id >> 8) == 0x55 || (id >> 8) == 0xff;
    if (id != kStartId && lo_partial && hi_partial) {
      warns.push_back({st.abs(off), path,
                       "variable StartId " + hex(id) +
                           " not completely written (an interrupted write): the firmware's walk of the store ends here and it "
                           "reclaims the store at its next boot"});
      break;
    }
    if (id != kStartId) return error_at(st.abs(off), path, "StartId " + hex(id) + " is not 0x55aa");
    if (nv.variables.size() >= kMaxVariables) return error_at(st.abs(off), path, "more than 65536 variables");
    EW_TRY(Variable var, read_variable(st, off, auth, path));
    if (var.torn)
      warns.push_back({var.offset, path,
                       "variable header not completely written (an interrupted write): the firmware skips it and reclaims "
                       "the store at its next boot"});
    off = var.end - st.base();  // strictly advances: at least the header size
    nv.variables.push_back(std::move(var));
  }
  nv.free_offset = st.abs(std::min(off, st.size()));
  if (off < st.size() && !st.all_equal(off, st.size() - off, 0xff))
    warns.push_back({st.abs(off), spath, "bytes after the last variable are not erased"});
  return ok();
}

std::optional<FtwWorkingBlock> read_ftw(const ByteView& img, uint64_t off) {
  auto h = img.sub(off, kFtwHeaderSize);
  if (!h) return std::nullopt;
  FtwWorkingBlock f;
  f.offset = off;
  Guid sig;
  sig.bytes = *h->array<16>(0);
  f.signature_ok = sig == guids::kFtwWorkingBlock;
  if (!f.signature_ok) return f;
  f.crc = *h->le<uint32_t>(0x10);
  const uint8_t bits = *h->le<uint8_t>(0x14);
  f.valid = (bits & 1) == 0 && (bits & 2) != 0;  // erase polarity 1: Valid programmed, Invalid not
  f.write_queue_size = *h->le<uint64_t>(0x18);
  f.crc_ok = ftw_header_crc(h->bytes()) == f.crc;
  return f;
}

void check_ftw(const ByteView& img, NvStore& nv, std::vector<Warning>& warns) {
  if (!nv.layout) return;
  nv.ftw = read_ftw(img, nv.offset + nv.layout->ftw_working_offset);
  if (!nv.ftw) return;
  if (!nv.ftw->signature_ok)
    warns.push_back({nv.ftw->offset, "NV/FTW", "FTW working block signature missing (the firmware re-creates it)"});
  else if (!nv.ftw->crc_ok)
    warns.push_back({nv.ftw->offset, "NV/FTW", "FTW working block header CRC " + hex(nv.ftw->crc) + " is invalid"});
}

}  // namespace

Expected<NvStore> parse_nvstore(const ByteView& img, const Volume& fv, size_t index, std::vector<Warning>& warns) {
  const std::string path = "FV[" + std::to_string(index) + "]/VarStore";
  NvStore nv;
  nv.offset = fv.offset;
  nv.layout = layout_by_region_size(fv.length);
  if (!nv.layout)
    warns.push_back({fv.offset + 0x20, path, "NV FvLength " + hex(fv.length) + " matches neither OVMF layout (0x20000, 0x84000)"});
  nv.store_offset = fv.offset + fv.header_length;
  const ByteView vol = *img.sub(fv.offset, fv.length);
  EW_TRY(ByteView sh, need_sub(vol, fv.header_length, kStoreHeaderSize, path, "variable store header"));
  Guid sig;
  sig.bytes = *sh.array<16>(0);
  if (sig != guids::kAuthVarStore && sig != guids::kVarStore)
    return error_at(nv.store_offset, path,
                    "variable store signature " + sig.str() + " is neither the authenticated nor the plain store GUID");
  nv.authenticated = sig == guids::kAuthVarStore;
  nv.store_size = *sh.le<uint32_t>(0x10);
  nv.format = *sh.le<uint8_t>(0x14);
  nv.state = *sh.le<uint8_t>(0x15);
  const uint64_t room = fv.length - fv.header_length;
  if (nv.store_size < kStoreHeaderSize || nv.store_size > room)
    return error_at(nv.store_offset + 0x10, path,
                    "variable store Size " + hex(nv.store_size) + " is below 0x1c or larger than the NV FV allows (" + hex(room) + ")");
  if (nv.layout && nv.store_size != nv.layout->varstore_size - fv.header_length)
    warns.push_back({nv.store_offset + 0x10, path,
                     "variable store Size " + hex(nv.store_size) + " differs from the " + nv.layout->name + " layout's " +
                         hex(nv.layout->varstore_size - fv.header_length)});
  if (nv.format != 0x5a)
    warns.push_back({nv.store_offset + 0x14, path, "variable store Format " + hex(nv.format) + " is not 0x5a (formatted)"});
  if (nv.state != 0xfe) warns.push_back({nv.store_offset + 0x15, path, "variable store State " + hex(nv.state) + " is not 0xfe (healthy)"});
  EW_CHECK(walk_variables(*vol.sub(fv.header_length, nv.store_size), nv.authenticated, path, nv, warns));
  check_ftw(img, nv, warns);
  return nv;
}

std::optional<NvStore> detect_headerless_nvstore(const ByteView& img, std::vector<Warning>& warns) {
  for (const NvLayout* l : {&kLayout2M, &kLayout4M}) {
    auto f = read_ftw(img, l->ftw_working_offset);
    if (!f || !f->signature_ok || !looks_like_fv(img, l->region_size)) continue;
    NvStore nv;
    nv.fv_present = false;
    nv.layout = l;
    nv.offset = 0;
    nv.store_offset = 0;
    nv.free_offset = 0;
    check_ftw(img, nv, warns);
    return nv;
  }
  return std::nullopt;
}

size_t NvStore::live_variables() const {
  size_t n = 0;
  for (const auto& v : variables)
    if (v.state == VarState::added || v.state == VarState::in_deleted_transition) ++n;
  return n;
}

const char* var_state_name(VarState s) {
  switch (s) {
    case VarState::added:
      return "added";
    case VarState::in_deleted_transition:
      return "in-deleted-transition";
    case VarState::deleted:
      return "deleted";
    case VarState::header_valid_only:
      return "header-valid-only";
    case VarState::invalid:
      return "invalid";
  }
  return "invalid";
}

std::string var_attributes_str(uint32_t a) {
  static const char* const names[] = {"NV", "BS", "RT", "HR", "AW", "AT", "AP"};
  std::string s;
  for (int i = 0; i < 7; ++i)
    if (a & (1u << i)) s += (s.empty() ? "" : "|") + std::string(names[i]);
  if (a & ~0x7fu) s += (s.empty() ? "" : "|") + hex(a & ~0x7fu);
  return s.empty() ? "0" : s;
}

}  // namespace elfwrap
