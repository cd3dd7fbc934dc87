// A progress line on stderr, only when stderr is a terminal, at most twice
// a second; erased when done so the summary line stands alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace kappa {

class progress {
 public:
  progress();
  // Cheap to call per record or batch: reads the clock every 256 calls.
  void update(uint64_t records, uint64_t bytes) {
    if (!enabled_ || (++calls_ & 255) != 0) return;
    show(records, bytes);
  }
  void done();

 private:
  void show(uint64_t records, uint64_t bytes);
  bool enabled_;
  bool shown_ = false;
  uint64_t calls_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace kappa
