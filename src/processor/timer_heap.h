// The timers of session_windows: a min-heap of (time, slot) entries.
//
// 4-ary rather than binary: half the levels, and the 4 children of a node
// are adjacent (48 bytes), so a step down reads one or two cache lines.
// Entries are 12 bytes (there is one per window). replace_top() is pop()
// and push() in one pass, for a timer that is due again later. Entries of
// equal time come out in no particular order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kappa {

class timer_heap {
 public:
  struct [[gnu::packed]] entry {
    int64_t time;
    uint32_t slot;
  };
  static_assert(sizeof(entry) == 12);

  bool empty() const { return v_.empty(); }
  size_t size() const { return v_.size(); }
  // REQUIRES: !empty().
  const entry& top() const { return v_.front(); }

  void push(entry e) {
    if (v_.size() == v_.capacity()) v_.reserve(v_.capacity() + v_.capacity() / 4 + 16);  // by a quarter: memory
    v_.push_back(e);
    size_t i = v_.size() - 1;
    while (i > 0) {
      size_t parent = (i - 1) / 4;
      if (v_[parent].time <= e.time) break;
      v_[i] = v_[parent];
      i = parent;
    }
    v_[i] = e;
  }
  // REQUIRES: !empty().
  void pop() {
    entry last = v_.back();
    v_.pop_back();
    if (!v_.empty()) sift_down(last);
  }
  // REQUIRES: !empty().
  void replace_top(entry e) { sift_down(e); }

  size_t bytes() const { return v_.capacity() * sizeof(entry); }

 private:
  // Puts e at the root's place and moves it down to where it belongs.
  void sift_down(entry e) {
    size_t n = v_.size(), i = 0;
    for (;;) {
      size_t c = 4 * i + 1;
      if (c >= n) break;
      size_t best = c;
      size_t last = c + 4 < n ? c + 4 : n;
      for (size_t k = c + 1; k < last; k++)
        if (v_[k].time < v_[best].time) best = k;
      if (v_[best].time >= e.time) break;
      v_[i] = v_[best];
      i = best;
    }
    v_[i] = e;
  }

  std::vector<entry> v_;
};

}  // namespace kappa
