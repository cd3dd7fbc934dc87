#include "util/duration.h"

#include <charconv>
#include <string>

namespace kappa {

namespace {

struct unit {
  std::string_view suffix;
  int64_t ms;
};
// Longest suffix first, so "ms" is not read as "m".
constexpr unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};

}  // namespace

Result<int64_t> parse_duration(std::string_view text, std::string_view option) {
  auto bad = [&](const char* why) {
    return Status::Invalid("invalid " + std::string(option) + " value '" + std::string(text) + "': " + why +
                           " (expected a duration such as 250ms, 30s, 30m, 2h, 1d, or a number of milliseconds)");
  };
  std::string_view digits = text;
  int64_t scale = 1;
  for (const auto& u : kUnits) {
    if (text.size() > u.suffix.size() && text.ends_with(u.suffix)) {
      digits = text.substr(0, text.size() - u.suffix.size());
      scale = u.ms;
      break;
    }
  }
  if (digits.empty() || digits[0] < '0' || digits[0] > '9') return bad("not a non-negative number");
  int64_t n = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (r.ec == std::errc::result_out_of_range) return bad("too large");
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) return bad("not a number with a unit");
  if (n > INT64_MAX / scale) return bad("too large");
  return n * scale;
}

std::string format_duration(int64_t ms) {
  for (int i = 4; i >= 1; i--)
    if (ms != 0 && ms % kUnits[i].ms == 0) return std::to_string(ms / kUnits[i].ms) + std::string(kUnits[i].suffix);
  return std::to_string(ms) + "ms";
}

}  // namespace kappa
