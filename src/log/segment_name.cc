#include "log/segment_name.h"

#include <cstdio>

#include "kappa/log/format.h"

namespace kappa {

std::string segment_stem(int64_t base_offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(base_offset));
  return buf;
}

std::string segment_path(const std::string& dir, int64_t base_offset, const char* suffix) {
  return dir + "/" + segment_stem(base_offset) + suffix;
}

std::optional<int64_t> parse_segment_name(std::string_view name, std::string_view suffix) {
  if (name.size() != format::kSegmentNameDigits + suffix.size()) return std::nullopt;
  if (name.substr(format::kSegmentNameDigits) != suffix) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < format::kSegmentNameDigits; i++) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace kappa
