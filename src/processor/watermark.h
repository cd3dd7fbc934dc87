// Watermarks of one input partition: Flink's bounded out-of-orderness
// (max event time seen - bound - 1; nothing before the first event) and
// punctuations (--watermark-field records) that set it directly. It never
// goes backwards.
#pragma once

#include <algorithm>
#include <cstdint>

namespace kappa {

class watermark_tracker {
 public:
  explicit watermark_tracker(int64_t max_out_of_orderness) : bound_(max_out_of_orderness) {}

  // An event at `time` was seen.
  void observe(int64_t time) {
    if (time < INT64_MIN + bound_ + 1) return;  // would not raise it (and must not overflow)
    current_ = std::max(current_, time - bound_ - 1);
  }
  // A punctuation: the watermark is at least `wm` from now on.
  void punctuate(int64_t wm) { current_ = std::max(current_, wm); }
  int64_t current() const { return current_; }

 private:
  int64_t bound_;
  int64_t current_ = INT64_MIN;
};

}  // namespace kappa
