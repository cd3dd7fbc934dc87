// Segment file names: the base offset as 20 zero-padded digits + a suffix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kappa {

// "00000000000000000042" for 42.
std::string segment_stem(int64_t base_offset);
// dir + "/" + stem + suffix.
std::string segment_path(const std::string& dir, int64_t base_offset, const char* suffix);
// The base offset of a file named <20 digits><suffix>, else nullopt.
std::optional<int64_t> parse_segment_name(std::string_view name, std::string_view suffix);

}  // namespace kappa
