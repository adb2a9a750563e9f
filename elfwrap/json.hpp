// JSON rendering of the model (schema documented in README.md, "JSON output").
#pragma once

#include <nlohmann/json.hpp>

#include "elfwrap/image.hpp"

namespace elfwrap {

nlohmann::json to_json(const Image& img);
nlohmann::json to_json(const NvStore& nv);
nlohmann::json to_json(const ElfWrapper& w);
nlohmann::json to_json(const Warning& w);
nlohmann::json guid_json(const Guid& g);  // {"guid": "...", "name": "..." | null}
const char* machine_name(uint16_t m);
// Indented text of `j`; invalid UTF-8 (a file name, say) becomes U+FFFD instead of throwing.
std::string dump(const nlohmann::json& j);

}  // namespace elfwrap
