// Which versions of a message a field exists in: the "versions" and
// "nullableVersions" of Kafka's message schemas, written next to the field in
// each schema function (messages_*.h), so a version is a condition, not a
// copy of a parser.
#pragma once

#include <cstdint>

namespace kappa::wire {

// An inclusive range of API versions [lo, hi].
struct version_range {
  int16_t lo = 0;
  int16_t hi = INT16_MAX;
  constexpr bool contains(int16_t v) const { return lo <= v && v <= hi; }
};

// Every version ("0+").
inline constexpr version_range kAll{};
// Versions v and later ("3+").
constexpr version_range since(int16_t v) { return {v, INT16_MAX}; }
// Versions lo through hi ("2-4").
constexpr version_range between(int16_t lo, int16_t hi) { return {lo, hi}; }
// Version v alone ("1").
constexpr version_range only(int16_t v) { return {v, v}; }
// No version: for "nullableVersions" a field lacks.
inline constexpr version_range kNone{1, 0};

}  // namespace kappa::wire
