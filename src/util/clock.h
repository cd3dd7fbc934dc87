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

}  // namespace kappa
