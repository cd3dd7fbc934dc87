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
// (there is one per window); heap and list share one buffer, the heap
// growing from its front and the list from its back, so memory follows
// the sum of the two.
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
    if (far_ != 0 && far_min_ <= wm) move_near(wm);
    return near_ != 0 && buf_[0].time <= wm;
  }
  // REQUIRES: due() said so.
  const entry& top() const { return buf_[0]; }
  // The heap's first entry, if any (a later one may wait in the list).
  const entry* peek() const { return near_ ? &buf_[0] : nullptr; }
  void pop() {
    entry last = buf_[--near_];
    if (near_ != 0) sift_down(last);
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

  // Takes every entry out (keeping the memory).
  void clear() {
    near_ = far_ = 0;
    horizon_ = INT64_MIN;
  }

  size_t size() const { return near_ + far_; }
  size_t bytes() const { return buf_.size() * sizeof(entry); }

 private:
  // The list's j-th entry (from the back of the buffer).
  entry& far_at(size_t j) { return buf_[buf_.size() - 1 - j]; }
  // Makes room for one more entry, growing by a quarter (memory).
  void make_room() {
    if (near_ + far_ < buf_.size()) return;
    size_t old = buf_.size();
    buf_.resize(old + old / 4 + 16);
    // The list moves to the new back.
    for (size_t j = 0; j < far_; j++) buf_[buf_.size() - 1 - j] = buf_[old - 1 - j];
  }
  void push_far(entry e) {
    make_room();
    far_at(far_++) = e;
    if (far_ == 1 || e.time < far_min_) far_min_ = e.time;
    if (far_ == 1 || e.time > far_max_) far_max_ = e.time;
  }
  void push_near(entry e) {
    make_room();
    size_t i = near_++;
    while (i > 0) {
      size_t parent = (i - 1) / 4;
      if (buf_[parent].time <= e.time) break;
      buf_[i] = buf_[parent];
      i = parent;
    }
    buf_[i] = e;
  }
  // Puts e at the root's place and moves it down to where it belongs.
  void sift_down(entry e) {
    size_t n = near_, i = 0;
    for (;;) {
      size_t c = 4 * i + 1;
      if (c >= n) break;
      size_t best = c;
      size_t last = c + 4 < n ? c + 4 : n;
      for (size_t k = c + 1; k < last; k++)
        if (buf_[k].time < buf_[best].time) best = k;
      if (buf_[best].time >= e.time) break;
      buf_[i] = buf_[best];
      i = best;
    }
    buf_[i] = e;
  }
  // Moves the horizon past wm, by an eighth of the way to the last far
  // entry, and the far entries it now covers into the heap.
  void move_near(int64_t wm) {
    uint64_t span = far_max_ > wm ? (static_cast<uint64_t>(far_max_) - static_cast<uint64_t>(wm)) / 8 + 1 : 1;
    horizon_ = static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(wm) < span
                   ? INT64_MAX
                   : static_cast<int64_t>(static_cast<uint64_t>(wm) + span);
    // Partition the list in place: entries now due near to its low end,
    // the others (kept) to its high end, which stays the list. Then the
    // heap takes the low end one entry at a time from below, growing into
    // each slot as it is read.
    size_t cap = buf_.size(), lo = cap - far_, hi = cap;
    while (lo < hi) {
      if (buf_[lo].time <= horizon_) {
        lo++;
      } else {
        hi--;
        entry t = buf_[lo];
        buf_[lo] = buf_[hi];
        buf_[hi] = t;
      }
    }
    size_t first = cap - far_;
    far_ = cap - hi;
    int64_t min = INT64_MAX;
    for (size_t j = 0; j < far_; j++) {
      int64_t t = far_at(j).time;
      if (t < min) min = t;
    }
    for (size_t i = first; i < hi; i++) {
      entry e = buf_[i];
      size_t k = near_++;  // <= i: room without make_room()
      while (k > 0) {
        size_t parent = (k - 1) / 4;
        if (buf_[parent].time <= e.time) break;
        buf_[k] = buf_[parent];
        k = parent;
      }
      buf_[k] = e;
    }
    far_min_ = min;
  }

  std::vector<entry> buf_;  // [0, near_): a 4-ary min-heap of the entries with time <= horizon_;
                            // the last far_: the others, unsorted
  size_t near_ = 0, far_ = 0;
  int64_t horizon_ = INT64_MIN;
  int64_t far_min_ = 0, far_max_ = 0;  // over far_ (when not empty)
};

}  // namespace kappa
