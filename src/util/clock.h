// The wall clock in milliseconds since the epoch: what commit times,
// checkpoint times and retention ages are measured in.
#pragma once

#include <chrono>
#include <cstdint>

namespace kappa {

inline int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A monotonic clock in milliseconds, for timeouts and idle times.
inline int64_t steady_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace kappa
