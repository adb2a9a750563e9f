// Human-readable rendering for the elfwrap driver.
#pragma once

#include <ostream>

#include "elfwrap/image.hpp"

namespace elfwrap::cli {

void render_inspect(std::ostream& out, const std::string& file, const Image& img);

}  // namespace elfwrap::cli
