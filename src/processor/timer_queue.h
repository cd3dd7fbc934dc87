// The timers of session_windows: (time, slot) entries, taken out once the
// watermark reaches their time. Entries of equal time come out in no
// particular order (session_windows sorts what fires).
//
// Most timers are set about a session gap ahead of the watermark, far
// beyond the next ones due. So entries up to a horizon live in a small
// min-heap (4-ary: half the levels of a binary heap, and a node's 4
// children adjacent), which stays in cache; later ones are appended to an
// unsorted list, and move to the heap in batches, the earliest eighth or
// so at a time, when the watermark gets near them. Entries are 12 bytes
// (there is one per window).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kappa {

class timer_queue {
 public:
  struct [[gnu::packed]] entry {
    int64_t time;
    uint32_t slot;
  };
  static_assert(sizeof(entry) == 12);

  // Whether an entry with time <= wm is there; if so, top() is one.
  bool due(int64_t wm) {
    if (!far_.empty() && far_min_ <= wm) move_near(wm);
    return !near_.empty() && near_.front().time <= wm;
  }
  // REQUIRES: due() said so.
  const entry& top() const { return near_.front(); }
  void pop() {
    entry last = near_.back();
    near_.pop_back();
    if (!near_.empty()) sift_down(last);
  }
  // pop() and push(e) in one.
  void replace_top(entry e) {
    if (e.time <= horizon_) {
      sift_down(e);
    } else {
      pop();
      push_far(e);
    }
  }
  void push(entry e) {
    if (e.time <= horizon_)
      push_near(e);
    else
      push_far(e);
  }

  size_t size() const { return near_.size() + far_.size(); }
  size_t bytes() const { return (near_.capacity() + far_.capacity()) * sizeof(entry); }

 private:
  template <class T>
  static void make_room(std::vector<T>& v) {
    if (v.size() == v.capacity()) v.reserve(v.capacity() + v.capacity() / 4 + 16);  // by a quarter: memory
  }
  void push_far(entry e) {
    make_room(far_);
    far_.push_back(e);
    if (far_.size() == 1 || e.time < far_min_) far_min_ = e.time;
    if (far_.size() == 1 || e.time > far_max_) far_max_ = e.time;
  }
  void push_near(entry e) {
    make_room(near_);
    near_.push_back(e);
    size_t i = near_.size() - 1;
    while (i > 0) {
      size_t parent = (i - 1) / 4;
      if (near_[parent].time <= e.time) break;
      near_[i] = near_[parent];
      i = parent;
    }
    near_[i] = e;
  }
  // Puts e at the root's place and moves it down to where it belongs.
  void sift_down(entry e) {
    size_t n = near_.size(), i = 0;
    for (;;) {
      size_t c = 4 * i + 1;
      if (c >= n) break;
      size_t best = c;
      size_t last = c + 4 < n ? c + 4 : n;
      for (size_t k = c + 1; k < last; k++)
        if (near_[k].time < near_[best].time) best = k;
      if (near_[best].time >= e.time) break;
      near_[i] = near_[best];
      i = best;
    }
    near_[i] = e;
  }
  // Moves the horizon past wm, by an eighth of the way to the last far
  // entry, and the far entries it now covers into the heap.
  void move_near(int64_t wm) {
    uint64_t span = far_max_ > wm ? (static_cast<uint64_t>(far_max_) - static_cast<uint64_t>(wm)) / 8 + 1 : 1;
    horizon_ = static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(wm) < span
                   ? INT64_MAX
                   : static_cast<int64_t>(static_cast<uint64_t>(wm) + span);
    size_t kept = 0;
    int64_t min = INT64_MAX;
    for (const entry& e : far_) {
      if (e.time <= horizon_) {
        push_near(e);
      } else {
        far_[kept++] = e;
        if (e.time < min) min = e.time;
      }
    }
    far_.resize(kept);
    far_min_ = min;
  }

  std::vector<entry> near_;  // a 4-ary min-heap: entries with time <= horizon_
  std::vector<entry> far_;   // unsorted: entries with time > horizon_
  int64_t horizon_ = INT64_MIN;
  int64_t far_min_ = 0, far_max_ = 0;  // over far_ (when not empty)
};

}  // namespace kappa
