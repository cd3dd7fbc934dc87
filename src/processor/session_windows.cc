#include "processor/session_windows.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "util/big_endian.h"
#include "util/varint.h"

namespace kappa {

namespace {

// Grows v's capacity by a quarter when it is full, so that state held
// stays within 1.25x of state used (std::vector would double).
template <class T>
void make_room(std::vector<T>& v) {
  if (v.size() == v.capacity()) v.reserve(v.capacity() + v.capacity() / 4 + 16);
}

}  // namespace

void session_windows::sum::merge(const sum& o) {
  if (o.is_float && !is_float) {
    f = static_cast<double>(i);
    is_float = true;
  }
  if (is_float)
    f += o.is_float ? o.f : static_cast<double>(o.i);
  else
    i = static_cast<int64_t>(static_cast<uint64_t>(i) + static_cast<uint64_t>(o.i));  // wraps, never UB
}

uint32_t session_windows::new_key(std::string_view key, uint64_t h) {
  uint32_t k = keys_.insert(key, h);
  keys_.value(k) = kNil;
  if (keys_.layout() != keys_layout_) {
    // The table grew: every key's windows follow their key to its new slot.
    keys_layout_ = keys_.layout();
    keys_.for_each_slot([this](uint32_t kslot, uint32_t) { relink(kslot); });
  }
  if (keys_.slot_of(k) >= kMaxKeySlots) std::abort();  // 2^29 key slots: the window's key field is full
  return k;
}

// Points the key field of the windows of the key in kslot at kslot.
void session_windows::relink(uint32_t kslot) {
  for (uint32_t s = keys_.value_at(kslot) & ~kDirty; s != kNil; s = windows_[s].next) windows_[s].key = kslot;
}

uint32_t session_windows::alloc_slot() {
  if (free_slot_ != kNil) {
    uint32_t s = free_slot_;
    free_slot_ = windows_[s].next;
    return s;
  }
  if (windows_.size() >= kDirty - 1) std::abort();  // 2^31 windows: slot numbers are full
  make_room(windows_);
  windows_.emplace_back();
  // Parallel arrays follow the slab's capacity (so they grow as rarely).
  counts_.resize(windows_.capacity());
  if (!sums_.empty() && sums_.size() < windows_.capacity()) {
    sums_.reserve(windows_.capacity());
    sums_.resize(windows_.capacity());
  }
  return static_cast<uint32_t>(windows_.size() - 1);
}

int64_t session_windows::long_start(uint32_t slot) const { return long_starts_.find(slot)->second; }

void session_windows::set_long_bounds(uint32_t slot, int64_t start, int64_t end) {
  window& w = windows_[slot];
  if (w.length == kLongLength) long_starts_.erase(slot);
  uint64_t length = static_cast<uint64_t>(end) - static_cast<uint64_t>(start);
  if (length < kLongLength) {
    w.length = static_cast<uint32_t>(length);
  } else {
    w.length = kLongLength;
    long_starts_[slot] = start;
  }
  w.end = end;
}

void session_windows::free_slot(uint32_t slot) {
  counts_.clear(slot);
  if (!sums_.empty()) sums_[slot] = sum{};
  if (windows_[slot].length == kLongLength) long_starts_.erase(slot);
  windows_[slot].length = 0;
  windows_[slot].end = kFreeEnd;
  windows_[slot].zombie = 0;
  windows_[slot].next = free_slot_;
  free_slot_ = slot;
}

void session_windows::unlink(uint32_t slot) {
  uint32_t& kv = keys_.value_at(windows_[slot].key);
  uint32_t s = kv & ~kDirty;
  if (s == slot) {
    set_head_in(kv, windows_[slot].next);
    return;
  }
  while (windows_[s].next != slot) s = windows_[s].next;
  windows_[s].next = windows_[slot].next;
}

session_windows::sum session_windows::get_sum(uint32_t slot) const { return sums_.empty() ? sum{} : sums_[slot]; }

void session_windows::put_sum(uint32_t slot, const sum& s) {
  if (sums_.empty()) {
    if (!s.is_float && s.i == 0) return;  // still no sums anywhere
    sums_.reserve(windows_.capacity());
    sums_.resize(windows_.capacity());
  }
  sums_[slot] = s;
}

// The fired session of a window; its counts are appended to *counts (the
// span is left for the caller to set).
fired_session session_windows::make_fired(uint32_t slot, bool late_update, std::vector<value_count>* counts) {
  const window& w = windows_[slot];
  fired_session f;
  f.key = keys_.key_at(w.key);
  f.start = start_of(slot);
  f.end = w.end;
  f.count = counts_.total(slot);
  sum s = get_sum(slot);
  f.sum_int = s.i;
  f.sum_float = s.f;
  f.sum_is_float = s.is_float;
  f.late_update = late_update;
  entries_.clear();
  counts_.entries(slot, &entries_);  // in byte order
  for (const auto& [v, n] : entries_) counts->push_back(value_count{counts_.value(v), n});
  return f;
}

void session_windows::append_fired(uint32_t slot, bool late_update, std::vector<fired_session>* fired) {
  // The counts go to fired_counts_; the span is set once all are there
  // (the vector may move while it fills).
  size_t begin = fired_counts_.size();
  fired->push_back(make_fired(slot, late_update, &fired_counts_));
  fired_spans_.push_back({fired->size() - 1, begin, fired_counts_.size() - begin});
}

void session_windows::finish_fired(std::vector<fired_session>* fired) {
  for (const auto& sp : fired_spans_)
    (*fired)[sp.index].counts = std::span<const value_count>(fired_counts_.data() + sp.begin, sp.length);
  fired_spans_.clear();
}

bool session_windows::add(const session_event& e, std::vector<fired_session>* fired) {
  fired_counts_.clear();
  int64_t end = e.time > INT64_MAX - o_.gap ? INT64_MAX : e.time + o_.gap;
  uint64_t h = key_table::hash(e.key);
  keys_.prefetch(h);  // interning the count-by value below hides the miss
  uint32_t value = e.has_count_value ? counts_.intern(e.count_value) : count_table::kNoValue;
  // The key's first window and its counts start loading as soon as the
  // key's slot is read.
  uint32_t kslot = 0;
  uint32_t k = keys_.find(
      e.key, h,
      [this](uint32_t value) {
        uint32_t s = value & ~kDirty;
        if (s != kNil) {
          cache_prefetch(&windows_[s]);
          counts_.prefetch(s);
        }
      },
      &kslot);
  // The run of the key's windows that [e.time, end) intersects (touching
  // counts) starts at `first`, after `prev`.
  uint32_t prev = kNil, first = kNil;
  if (k != key_table::kNone) {
    for (uint32_t s = keys_.value_at(kslot) & ~kDirty; s != kNil; prev = s, s = windows_[s].next) {
      if (windows_[s].end >= e.time) {
        first = s;
        break;
      }
    }
  }
  sum event_sum{e.sum_int, e.sum_float, e.sum_is_float};

  if (first == kNil || start_of(first) > end) {
    // A window of its own. Late only now: a live window is never late.
    if (cleanup_time(end) <= wm_) return false;
    if (k == key_table::kNone) {
      k = new_key(e.key, h);
      kslot = keys_.slot_of(k);
    }
    uint32_t& kv = keys_.value_at(kslot);
    uint32_t s = alloc_slot();
    set_bounds(s, e.time, end);
    window& w = windows_[s];
    w.key = kslot;
    w.pending = 0;
    w.emitted = 0;
    w.zombie = 0;
    w.next = first;
    if (prev == kNil)
      set_head_in(kv, s);
    else
      windows_[prev].next = s;
    counts_.increment(s, value);
    if (e.has_sum) put_sum(s, event_sum);
    open_++;
    mark_dirty(k, kv);
    if (end - 1 <= wm_) {
      w.emitted = 1;  // a firing within allowed lateness; supersedes nothing
      append_fired(s, false, fired);
      finish_fired(fired);
    } else {
      w.pending = 1;
    }
    timers_.push({due(w), s});
    return true;
  }

  uint32_t last = first;
  size_t n = 1;
  bool emitted = windows_[first].emitted;
  while (windows_[last].next != kNil && start_of(windows_[last].next) <= end) {
    last = windows_[last].next;
    emitted |= windows_[last].emitted;
    n++;
  }
  int64_t m_start = std::min(e.time, start_of(first));
  const int64_t last_end = windows_[last].end;  // a copy: the packed field may not be 8-aligned
  int64_t m_end = std::max(end, last_end);
  bool pending = m_end - 1 > wm_;
  uint32_t keeper = first;
  bool moved = false;
  if (n == 1 && (!pending || windows_[first].pending)) {
    // The common case: the event lands in (or extends) one window, in
    // place. Its timer entry is due no later than the window now is.
    if (e.has_sum) {
      sum s = get_sum(first);
      s.merge(event_sum);
      put_sum(first, s);
    }
  } else {
    // Windows merge (or a fired window pends again). The result keeps the
    // slot of one whose timer entry is due no later than the result: any
    // if the result fires now (it is then due at its cleanup), else one
    // that was pending. Failing that it moves to a new slot with a new
    // entry. The others turn into zombies.
    keeper = kNil;
    for (uint32_t s = first, i = 0; i < n; s = windows_[s].next, i++)
      if (!pending || windows_[s].pending) {
        keeper = s;
        break;
      }
    moved = keeper == kNil;
    if (moved) keeper = alloc_slot();
    uint32_t after = windows_[last].next;
    sum acc;  // in start order, as a fold over the merged windows adds them
    for (uint32_t s = first, i = 0; i < n; i++) {
      uint32_t next = windows_[s].next;
      acc.merge(get_sum(s));
      if (s != keeper) {
        counts_.merge(keeper, s);
        if (!sums_.empty()) sums_[s] = sum{};
        windows_[s].zombie = 1;
      }
      s = next;
    }
    if (e.has_sum) acc.merge(event_sum);
    put_sum(keeper, acc);
    window& w = windows_[keeper];
    w.key = kslot;
    w.zombie = 0;
    w.next = after;
    if (prev == kNil)
      set_head_in(keys_.value_at(kslot), keeper);
    else
      windows_[prev].next = keeper;
    open_ -= n - 1;
  }
  set_bounds(keeper, m_start, m_end);
  window& w = windows_[keeper];
  counts_.increment(keeper, value);
  mark_dirty(k, keys_.value_at(kslot));
  if (!pending) {
    w.pending = 0;
    w.emitted = 1;
    append_fired(keeper, emitted, fired);  // a late firing, within allowed lateness
    finish_fired(fired);
  } else {
    w.pending = 1;
    w.emitted = emitted;
  }
  if (moved) timers_.push({due(w), keeper});
  return true;
}

void session_windows::advance_watermark(int64_t wm, std::vector<fired_session>* fired) {
  fired_counts_.clear();
  if (!step(wm)) return;
  for (const auto& f : firing_) append_fired(f.slot, f.late_update, fired);
  finish_fired(fired);
  end_step();
}

void session_windows::advance_watermark(int64_t wm, fire_fn fn, void* ctx) {
  fired_counts_.clear();
  if (!step(wm)) return;
  for (const auto& f : firing_) {
    fired_counts_.clear();
    fired_session s = make_fired(f.slot, f.late_update, &fired_counts_);
    s.counts = fired_counts_;
    fn(ctx, s);
  }
  end_step();
}

// Raises the watermark and finds what fires (firing_, in order) and what
// goes (dropped_, freed by end_step()). False if wm is not higher.
bool session_windows::step(int64_t wm) {
  if (wm <= wm_) return false;
  wm_ = wm;
  firing_.clear();
  dropped_.clear();
  if (wm == INT64_MAX) {
    flush_all();
  } else {
    while (timers_.due(wm)) {
      uint32_t s = timers_.top().slot;
      window& w = windows_[s];
      if (w.zombie) {
        timers_.pop();
        free_slot(s);
        continue;
      }
      // Catch the window up with the watermark: fire, then maybe drop (a
      // window whose fire and cleanup come in one step emits before it goes).
      if (w.pending && w.end - 1 <= wm) {
        firing_.push_back(pending_fire{w.end, s, static_cast<bool>(w.emitted)});
        w.pending = 0;
        w.emitted = 1;
        mark_dirty_at(w.key);
      }
      if (cleanup_time(w.end) <= wm) {
        timers_.pop();
        unlink(s);
        open_--;
        mark_dirty_at(w.key);
        dropped_.push_back(s);  // freed once its contents are out
      } else {
        timers_.replace_top({due(w), s});  // came due early: the window grew since
      }
    }
  }
  if (firing_.size() > 1)
    std::sort(firing_.begin(), firing_.end(), [&](const pending_fire& a, const pending_fire& b) {
      if (a.end != b.end) return a.end < b.end;
      return keys_.key_at(windows_[a.slot].key) < keys_.key_at(windows_[b.slot].key);
    });
  return true;
}

// The watermark at +inf: every timer is due, so every pending window
// fires and every window goes, as popping them all would have it, but
// read in slot order rather than through the heap.
void session_windows::flush_all() {
  for (uint32_t s = 0; s < windows_.size(); s++) {
    window& w = windows_[s];
    if (w.end == kFreeEnd) continue;
    dropped_.push_back(s);
    if (w.zombie) continue;
    if (w.pending) {
      firing_.push_back(pending_fire{w.end, s, static_cast<bool>(w.emitted)});
      w.pending = 0;
      w.emitted = 1;
    }
    set_head_in(keys_.value_at(w.key), kNil);
    mark_dirty_at(w.key);
    open_--;
  }
  timers_.clear();
}

void session_windows::end_step() {
  for (uint32_t s : dropped_) free_slot(s);
  // The window due next starts loading now, and once it is in (a step
  // later) its key's slot and counts: what firing it will read.
  if (uint32_t s; timers_.peek(&s)) {
    if (s == next_due_) {
      keys_.prefetch_at(windows_[s].key);
      counts_.prefetch(s);
    } else {
      cache_prefetch(&windows_[s]);
      next_due_ = s;
    }
  }
}

// Encoding of one key's windows (in checkpoints, never in the log):
//   varint window count, then per window: start, end (varints), flags
//   (bit 0 pending, 1 emitted, 2 float sum), count, sum (varint, or 8-byte
//   IEEE double), varint number of counts, each (varint length, bytes,
//   varint count) in byte order of the values; then XXH3-64 of all that,
//   8 bytes big-endian.

void session_windows::encode(uint32_t key, std::string* out) {
  // Written through a pointer into encode_buf_, made big enough for each
  // window before it is written: one copy out at the end rather than an
  // append per field.
  size_t len = 0;
  auto room = [&](size_t more) -> char* {
    if (encode_buf_.size() < len + more) encode_buf_.resize(std::max(encode_buf_.size() * 2, len + more));
    return encode_buf_.data() + len;
  };
  size_t n = 0;
  for (uint32_t s = head(key); s != kNil; s = windows_[s].next) n++;
  char* p = room(10);
  len = static_cast<size_t>(varint::put(p, static_cast<int64_t>(n)) - encode_buf_.data());
  for (uint32_t s = head(key); s != kNil; s = windows_[s].next) {
    const window& w = windows_[s];
    sum sm = get_sum(s);
    entries_.clear();
    counts_.entries(s, &entries_);  // in byte order
    size_t values = 0;
    for (const auto& e : entries_) values += counts_.value(e.first).size();
    p = room(5 * 10 + 1 + 10 + entries_.size() * 20 + values);
    p = varint::put(p, start_of(s));
    p = varint::put(p, w.end);
    *p++ = static_cast<char>((w.pending ? 1 : 0) | (w.emitted ? 2 : 0) | (sm.is_float ? 4 : 0));
    p = varint::put(p, counts_.total(s));
    if (sm.is_float) {
      uint64_t bits;
      std::memcpy(&bits, &sm.f, 8);
      be::store64(p, bits);
      p += 8;
    } else {
      p = varint::put(p, sm.i);
    }
    p = varint::put(p, static_cast<int64_t>(entries_.size()));
    for (const auto& [v, c] : entries_) {
      std::string_view value = counts_.value(v);
      p = varint::put(p, static_cast<int64_t>(value.size()));
      std::memcpy(p, value.data(), value.size());
      p += value.size();
      p = varint::put(p, c);
    }
    len = static_cast<size_t>(p - encode_buf_.data());
  }
  p = room(8);
  be::store64(p, XXH3_64bits(encode_buf_.data(), len));
  len += 8;
  out->assign(encode_buf_.data(), len);
}

void session_windows::take_changes(
    const std::function<void(const std::string& key, const std::string* encoded)>& fn) {
  for (uint32_t k : dirty_) {
    keys_.value(k) &= ~kDirty;
    key_text_.assign(keys_.key(k));
    if (head(k) == kNil) {
      keys_.erase(k);  // nothing left to keep it for
      for (const auto& [from, to] : keys_.moves()) relink(to);
      fn(key_text_, nullptr);
    } else {
      encode(k, &encoded_);
      fn(key_text_, &encoded_);
    }
  }
  dirty_.clear();
}

void session_windows::take_all(const std::function<void(const std::string& key, const std::string& encoded)>& fn) {
  take_changes([](const std::string&, const std::string*) {});
  for (uint32_t k = 0; k < keys_.id_limit(); k++) {
    if (!keys_.live(k) || head(k) == kNil) continue;
    key_text_.assign(keys_.key(k));
    encode(k, &encoded_);
    fn(key_text_, encoded_);
  }
}

Status session_windows::restore(const std::string& key, std::string_view encoded) {
  fired_counts_.clear();
  auto bad = [&](const char* why) {
    return Status::Corruption("checkpointed session state of key '" + key + "' is damaged (" + why + ")");
  };
  if (encoded.size() < 8) return bad("too short");
  const char* p = encoded.data();
  const char* end = p + encoded.size() - 8;
  if (XXH3_64bits(p, static_cast<size_t>(end - p)) != be::load64(end)) return bad("checksum mismatch");
  auto get = [&](int64_t* v) { return (p = varint::get64(p, end, v)) != nullptr; };
  struct decoded {
    int64_t start, end, count;
    bool pending, emitted;
    sum s;
    size_t counts_begin, counts_end;
  };
  std::vector<decoded> ws;
  std::vector<std::pair<std::string_view, int64_t>> counts;
  int64_t n;
  if (!get(&n) || n < 0 || n > end - p) return bad("window count");
  for (int64_t i = 0; i < n; i++) {
    decoded w{};
    int64_t count_n;
    if (!get(&w.start) || !get(&w.end) || w.end <= w.start || p >= end) return bad("window bounds");
    int flags = static_cast<unsigned char>(*p++);
    w.pending = flags & 1;
    w.emitted = flags & 2;
    w.s.is_float = flags & 4;
    if (!get(&w.count) || w.count < 0) return bad("count");
    if (w.s.is_float) {
      if (end - p < 8) return bad("sum");
      uint64_t bits = be::load64(p);
      std::memcpy(&w.s.f, &bits, 8);
      p += 8;
    } else if (!get(&w.s.i)) {
      return bad("sum");
    }
    if (!get(&count_n) || count_n < 0 || count_n > end - p) return bad("counts");
    w.counts_begin = counts.size();
    int64_t counted = 0;
    for (int64_t c = 0; c < count_n; c++) {
      int64_t len, cnt;
      if (!get(&len) || len < 0 || len > end - p) return bad("count value");
      std::string_view value(p, static_cast<size_t>(len));
      p += len;
      if (!get(&cnt) || cnt <= 0 || cnt > w.count - counted) return bad("count");
      counted += cnt;
      counts.emplace_back(value, cnt);
    }
    w.counts_end = counts.size();
    if (!ws.empty() && ws.back().end >= w.start) return bad("windows out of order");
    ws.push_back(w);
  }
  if (p != end) return bad("trailing bytes");
  if (ws.empty()) return Status::OK();

  uint64_t h = key_table::hash(key);
  uint32_t k = keys_.find(key, h);
  if (k == key_table::kNone) {
    k = new_key(key, h);
  } else {
    // Restored over: the old windows go (as zombies, for their timer entries).
    for (uint32_t s = head(k); s != kNil; s = windows_[s].next) {
      windows_[s].zombie = 1;
      open_--;
    }
    set_head(k, kNil);
  }
  uint32_t kslot = keys_.slot_of(k);
  uint32_t tail = kNil;
  for (const auto& d : ws) {
    uint32_t s = alloc_slot();
    set_bounds(s, d.start, d.end);
    window& w = windows_[s];
    w.key = kslot;
    w.pending = d.pending;
    w.emitted = d.emitted;
    w.zombie = 0;
    w.next = kNil;
    if (tail == kNil)
      set_head(k, s);
    else
      windows_[tail].next = s;
    tail = s;
    int64_t counted = 0;
    for (size_t c = d.counts_begin; c < d.counts_end; c++) {
      counts_.add(s, counts_.intern(counts[c].first), counts[c].second);
      counted += counts[c].second;
    }
    counts_.add(s, count_table::kNoValue, d.count - counted);
    put_sum(s, d.s);
    timers_.push({due(windows_[s]), s});
    open_++;
  }
  return Status::OK();
}

session_windows::memory_use session_windows::memory() const {
  memory_use m;
  m.keys = keys_.size();
  // (A long start costs a node of about 32 bytes; there are hardly any.)
  m.windows = windows_.capacity() * sizeof(window) + long_starts_.size() * 32;
  m.timers = timers_.bytes();
  m.key_slots = keys_.slot_bytes();
  m.counts = counts_.row_bytes() + counts_.value_bytes();
  m.sums = sums_.capacity() * sizeof(sum);
  m.key_records = keys_.record_bytes() + dirty_.capacity() * sizeof(uint32_t);
  m.key_bytes = keys_.arena_bytes();
  return m;
}

}  // namespace kappa
