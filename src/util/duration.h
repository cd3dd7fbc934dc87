// Durations on the command line (SPEC section 5): "250ms", "30s", "30m",
// "2h", "1d", or a bare number of milliseconds.
#pragma once

#include <cstdint>
#include <string_view>

#include "kappa/status.h"

namespace kappa {

// The duration in milliseconds. Invalid, naming `option` and the accepted
// forms, for anything else (negative, empty, unknown unit, overflow).
Result<int64_t> parse_duration(std::string_view text, std::string_view option);

// The shortest exact spelling of a duration: 1800000 -> "30m", 1500 -> "1500ms".
std::string format_duration(int64_t ms);

}  // namespace kappa
