// The timers of session_windows: (time, slot) entries, taken out once the
// watermark reaches their time. Entries of equal time come out in no
// particular order (session_windows sorts what fires).
//
// Most timers are set about a session gap ahead of the watermark, far
// beyond the next ones due. So entries up to a horizon live in a small
// min-heap (4-ary: half the levels of a binary heap, and a node's 4
// children adjacent), which stays in cache; later ones are appended to an
// unsorted list, and move to the heap in batches, the earliest eighth or
// so at a time, when the watermark gets near them. Heap and list share
// one buffer, the heap growing from its front and the list from its back,
// so memory follows the sum of the two.
//
// Entries are 8 bytes (there is one per window): a time is held as 32 bits
// above a base, which moves up with the watermark (every 2^31 ms or so,
// one pass over the entries). A time more than 2^32 - 2 ms above the base
// is held as that much, a lower bound: such an entry may come out early,
// at a time of its own no later than its real one (top() says which), and
// the caller puts it back (session_windows does: a window whose entry
// comes due early is re-armed for its time). Every other entry comes out
// exactly when the watermark reaches its time, with that time (unless,
// with capped entries waiting, the watermark jumped 2^31 ms past it: the
// base then moves to the watermark, and such an entry, due, comes out
// with the watermark as its time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kappa {

class timer_queue {
 public:
  struct entry {
    int64_t time;
    uint32_t slot;
  };

  // Whether an entry with time <= wm is there; if so, top() is one.
  bool due(int64_t wm) {
    if (near_ + far_ != 0 && wm > base_ && static_cast<uint64_t>(wm) - static_cast<uint64_t>(base_) >= kRebaseAfter)
      rebase_up(wm);
    if (far_ != 0 && far_min_ <= wm) move_near(wm);
    return near_ != 0 && at_most(buf_[0], wm);
  }
  // REQUIRES: due() said so. The time is the entry's (or, held as a lower
  // bound, that bound).
  entry top() const { return entry{time_of(buf_[0]), buf_[0].slot}; }
  // The heap's first entry's slot, if any (a later one may wait in the list).
  bool peek(uint32_t* slot) const {
    if (near_ == 0) return false;
    *slot = buf_[0].slot;
    return true;
  }
  void pop() {
    if (buf_[0].rel == kCapped) capped_--;
    cell last = buf_[--near_];
    if (near_ != 0) sift_down(last);
  }
  // pop() and push(e) in one.
  void replace_top(entry e) {
    if (e.time <= horizon_) {
      cell c = encode(e);  // first: it may re-encode the top too
      if (buf_[0].rel == kCapped) capped_--;
      sift_down(c);
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
    near_ = far_ = capped_ = 0;
    horizon_ = INT64_MIN;
  }

  size_t size() const { return near_ + far_; }
  size_t bytes() const { return buf_.size() * sizeof(cell); }

 private:
  struct cell {
    uint32_t rel;  // time - base_, at most kCapped (then a lower bound)
    uint32_t slot;
  };
  static_assert(sizeof(cell) == 8);
  static constexpr uint32_t kCapped = UINT32_MAX;
  // The watermark may run this far above the base before it moves up:
  // while it stays under kCapped, a capped entry is never taken for due.
  static constexpr uint64_t kRebaseAfter = uint64_t{1} << 31;
  // A base set below a new time leaves this much room for earlier ones.
  static constexpr uint64_t kRoomBelow = uint64_t{1} << 30;

  // base_ + rel never overflows: rel <= time - base_ when it was encoded,
  // and rebase() keeps that so.
  int64_t time_of(cell c) const { return static_cast<int64_t>(static_cast<uint64_t>(base_) + c.rel); }
  // Whether c's time <= t.
  bool at_most(cell c, int64_t t) const {
    return t >= base_ && static_cast<uint64_t>(t) - static_cast<uint64_t>(base_) >= c.rel;
  }
  bool less(cell a, cell b) const { return a.rel < b.rel; }
  cell encode(entry e) {
    if (near_ + far_ == 0 && e.time > base_ && static_cast<uint64_t>(e.time) - static_cast<uint64_t>(base_) >= kCapped)
      base_ = below(e.time);  // empty: the base may jump up for free
    if (e.time < base_) rebase(below(e.time));
    uint64_t d = static_cast<uint64_t>(e.time) - static_cast<uint64_t>(base_);
    cell c{d >= kCapped ? kCapped : static_cast<uint32_t>(d), e.slot};
    if (c.rel == kCapped) capped_++;
    return c;
  }
  static int64_t below(int64_t t) {
    return t < INT64_MIN + static_cast<int64_t>(kRoomBelow) ? INT64_MIN : t - static_cast<int64_t>(kRoomBelow);
  }
  // Moves the base to b, re-encoding every entry (an order-keeping map, so
  // the heap stays a heap): a time below b becomes b (done only when b <=
  // the watermark, so such an entry is due either way), one too far above
  // it is capped.
  void rebase(int64_t b) {
    capped_ = 0;
    auto move = [&](cell& c) {
      int64_t t = time_of(c);
      uint64_t d = t <= b ? 0 : static_cast<uint64_t>(t) - static_cast<uint64_t>(b);
      c.rel = d >= kCapped ? kCapped : static_cast<uint32_t>(d);
      if (c.rel == kCapped) capped_++;
    };
    for (size_t i = 0; i < near_; i++) move(buf_[i]);
    for (size_t j = 0; j < far_; j++) move(far_at(j));
    base_ = b;
    if (far_ != 0) far_min_max();
  }
  // The watermark is far above the base: the base follows it, to the
  // earliest entry if that is not far below the watermark (no entry
  // changes), else, if some entry is capped, to the watermark itself (what
  // is below it is due anyway); otherwise nothing needs to move yet.
  void rebase_up(int64_t wm) {
    int64_t first = INT64_MAX;
    if (near_ != 0) first = time_of(buf_[0]);
    if (far_ != 0 && far_min_ < first) first = far_min_;
    int64_t b;
    if (first >= wm)
      b = wm;
    else if (static_cast<uint64_t>(wm) - static_cast<uint64_t>(first) < kRebaseAfter)
      b = first;
    else if (capped_ != 0)
      b = wm;
    else
      return;
    if (b > base_) rebase(b);
  }
  // The list's j-th entry (from the back of the buffer).
  cell& far_at(size_t j) { return buf_[buf_.size() - 1 - j]; }
  void far_min_max() {
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t j = 0; j < far_; j++) {
      uint32_t r = far_at(j).rel;
      if (r < lo) lo = r;
      if (r > hi) hi = r;
    }
    far_min_ = time_of(cell{lo, 0});
    far_max_ = time_of(cell{hi, 0});
  }
  // Makes room for one more entry, growing by a quarter (memory).
  void make_room() {
    if (near_ + far_ < buf_.size()) return;
    size_t old = buf_.size();
    buf_.resize(old + old / 4 + 16);
    // The list moves to the new back.
    for (size_t j = 0; j < far_; j++) buf_[buf_.size() - 1 - j] = buf_[old - 1 - j];
  }
  void push_far(entry e) {
    cell c = encode(e);
    make_room();
    far_at(far_++) = c;
    int64_t t = time_of(c);
    if (far_ == 1 || t < far_min_) far_min_ = t;
    if (far_ == 1 || t > far_max_) far_max_ = t;
  }
  void push_near(entry e) {
    cell c = encode(e);
    make_room();
    sift_up(near_++, c);
  }
  void sift_up(size_t i, cell c) {
    while (i > 0) {
      size_t parent = (i - 1) / 4;
      if (!less(c, buf_[parent])) break;
      buf_[i] = buf_[parent];
      i = parent;
    }
    buf_[i] = c;
  }
  // Puts c at the root's place and moves it down to where it belongs.
  void sift_down(cell c) {
    size_t n = near_, i = 0;
    for (;;) {
      size_t first = 4 * i + 1;
      if (first >= n) break;
      size_t best = first;
      size_t last = first + 4 < n ? first + 4 : n;
      for (size_t k = first + 1; k < last; k++)
        if (less(buf_[k], buf_[best])) best = k;
      if (!less(buf_[best], c)) break;
      buf_[i] = buf_[best];
      i = best;
    }
    buf_[i] = c;
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
      if (at_most(buf_[lo], horizon_)) {
        lo++;
      } else {
        hi--;
        cell t = buf_[lo];
        buf_[lo] = buf_[hi];
        buf_[hi] = t;
      }
    }
    size_t first = cap - far_;
    far_ = cap - hi;
    if (far_ != 0) far_min_max();
    for (size_t i = first; i < hi; i++) sift_up(near_++, buf_[i]);  // near_ <= i: room without make_room()
  }

  std::vector<cell> buf_;  // [0, near_): a 4-ary min-heap of the entries with time <= horizon_;
                           // the last far_: the others, unsorted
  size_t near_ = 0, far_ = 0;
  size_t capped_ = 0;           // entries held as kCapped
  int64_t base_ = INT64_MIN;    // what rel counts from
  int64_t horizon_ = INT64_MIN;
  int64_t far_min_ = 0, far_max_ = 0;  // over far_ (when not empty)
};

}  // namespace kappa
