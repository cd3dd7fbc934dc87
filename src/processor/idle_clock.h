// --idle-timeout: event time that keeps flowing when an input partition
// goes quiet (SPEC section 5), measured by the input's record timestamps
// rather than the job's wall clock, so a replay sees the quiet periods the
// live run saw.
//
// Before a record stamped b whose predecessor was stamped a, with wm_prev
// the watermark after that predecessor, the watermark becomes at least
//   wm_prev + (b - a - timeout)      when b - a > timeout.
// At the end of the input the same rule applies with the wall clock as b.
// Nothing moves before the first event (there is no watermark to advance).
#pragma once

#include <cstdint>
#include <limits>

namespace kappa {

class idle_clock {
 public:
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

  explicit idle_clock(int64_t timeout_ms) : timeout_(timeout_ms) {}
  bool enabled() const { return timeout_ > 0; }

  // The watermark the rule gives at time b (a record's timestamp, or the
  // wall clock at the end of the input); kNone when it gives nothing.
  int64_t watermark_at(int64_t b) const {
    if (!enabled() || last_ == kNone || after_last_ == kNone) return kNone;
    if (b <= last_) return kNone;
    int64_t excess;  // b - a - timeout, which only counts when positive (saturating: b - a > 0 here)
    if (__builtin_sub_overflow(b, last_, &excess)) excess = std::numeric_limits<int64_t>::max();
    excess -= timeout_;
    if (excess <= 0) return kNone;
    return after_last_ > std::numeric_limits<int64_t>::max() - excess ? std::numeric_limits<int64_t>::max()
                                                                      : after_last_ + excess;
  }
  // A record stamped `timestamp` was processed; the watermark is now `wm`.
  void record(int64_t timestamp, int64_t wm) {
    last_ = timestamp;
    after_last_ = wm;
  }
  // When the partition went quiet: DUR after its last record (kNone before one).
  int64_t idle_since() const {
    return last_ == kNone || last_ > std::numeric_limits<int64_t>::max() - timeout_ ? kNone : last_ + timeout_;
  }

  // What a checkpoint keeps, so a restarted run goes on by the same rule.
  int64_t last_timestamp() const { return last_; }
  int64_t watermark_after_last() const { return after_last_; }
  void restore(int64_t last_timestamp, int64_t watermark_after_last) {
    last_ = last_timestamp;
    after_last_ = watermark_after_last;
  }

 private:
  int64_t timeout_;
  int64_t last_ = kNone;        // the previous record's timestamp
  int64_t after_last_ = kNone;  // the watermark after it
};

}  // namespace kappa
