// Event-time session windows with Flink's semantics (EventTimeSessionWindows
// with EventTimeTrigger and allowed lateness), for the events of one input
// partition. Pure logic: no I/O, no clock; the caller feeds events and
// watermarks and writes out what fires.
//
//   - An event at ts opens [ts, ts+gap); windows of a key merge when they
//     intersect, touching included (Flink's TimeWindow.intersects).
//   - A window fires when the watermark reaches end-1, and again at once
//     for every event that lands in it while it is still within allowed
//     lateness (late firings; contents are never purged, as EventTimeTrigger
//     returns FIRE). It is dropped, silently, when the watermark reaches
//     end-1+lateness.
//   - An event whose (merged) window is already past end-1+lateness is
//     late: nothing changes and add() says so. Lateness is judged on the
//     merged window, so an event that joins a live window is never late.
//
// State, built so that an event of a known key allocates nothing and
// copies no string: keys are interned (key_table: a key of up to 8 bytes
// lives in its 16-byte hash slot, with the head of its window list);
// windows live in a slab of 20-byte slots, chained per key in start order
// (almost always one) and naming their key's slot; --count-by counts are
// rows of a count_table indexed by window slot; and each window slot has
// exactly one entry in the timer_queue. An entry may come due early (its
// window grew since): it is then put back for the window's new time. A
// window merged away stays in its slot as a "zombie" until its entry
// comes due, so an entry never names a reused slot. memory() says what
// all that holds.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kappa/status.h"
#include "processor/count_table.h"
#include "processor/key_table.h"
#include "processor/timer_queue.h"

namespace kappa {

// One event as the window operator needs it.
struct session_event {
  std::string_view key;
  int64_t time = 0;
  bool has_count_value = false;
  std::string_view count_value;
  bool has_sum = false;
  bool sum_is_float = false;
  int64_t sum_int = 0;
  double sum_float = 0;
};

// How many events of a session had one value of the --count-by field.
struct value_count {
  std::string_view value;
  int64_t count = 0;
};

// A window that fired: its contents as of now. The views (key, counts and
// their values) point into the operator and stay valid until the next call
// of a non-const member of the session_windows that produced it.
struct fired_session {
  std::string_view key;
  int64_t start = 0, end = 0;  // [start, end): first event time, last event time + gap
  int64_t count = 0;           // events
  std::span<const value_count> counts;  // --count-by values, in byte order
  int64_t sum_int = 0;         // --sum-field: integers stay integers...
  double sum_float = 0;        // ...until a float arrives
  bool sum_is_float = false;
  bool late_update = false;  // an earlier firing of (part of) this session was emitted
};

class session_windows {
 public:
  struct options {
    int64_t gap = 1;               // > 0
    int64_t allowed_lateness = 0;  // >= 0
  };
  explicit session_windows(options o) : o_(o) {}

  // Adds an event, judged against the current watermark. Returns false if
  // it is late (nothing changed). A window that fires at once (a late
  // firing within allowed lateness) is appended to *fired. Entries left in
  // *fired by earlier calls are invalid after this call.
  bool add(const session_event& e, std::vector<fired_session>* fired);
  // Raises the watermark to wm (a lower one is ignored): windows whose end-1
  // it reaches fire, appended to *fired in (end, key) order (keys compared
  // bytewise); windows past their allowed lateness are dropped. INT64_MAX
  // fires and drops all (the end of a finite input). Entries left in
  // *fired by earlier calls are invalid after this call.
  void advance_watermark(int64_t wm, std::vector<fired_session>* fired);
  // The same, handing each fired session, in the same order, to fn(ctx,
  // session) instead: the session and its views are valid during the
  // call only, and nothing is gathered (the end of a finite input fires
  // every open session in one step).
  using fire_fn = void (*)(void* ctx, const fired_session& session);
  void advance_watermark(int64_t wm, fire_fn fn, void* ctx);

  // Hints (no effect but on the cache): the key slot where a lookup for
  // hash h starts; and the state of key (h = its hash): looks its slot up
  // (best after prefetch_slot() had time) and starts loading its first
  // window and counts.
  void prefetch_slot(uint64_t h) const { keys_.prefetch(h); }
  void prefetch_state(std::string_view key, uint64_t h) const {
    keys_.find(key, h, [this](uint32_t value) {
      uint32_t s = value & ~kDirty;
      if (s != kNil) {
        cache_prefetch(&windows_[s]);
        counts_.prefetch(s);
      }
    });
  }

  int64_t watermark() const { return wm_; }
  size_t open_windows() const { return open_; }

  // Checkpoints (incremental): calls fn once for every key whose windows
  // changed since the last call, with their encoding, or with nullptr when
  // the key has no windows left; then forgets the changes (and the keys
  // without windows).
  void take_changes(const std::function<void(const std::string& key, const std::string* encoded)>& fn);
  // A full checkpoint: forgets the changes like take_changes(), then calls
  // fn for every key that has windows, with their encoding.
  void take_all(const std::function<void(const std::string& key, const std::string& encoded)>& fn);
  // Restores from a checkpoint into an empty operator: the watermark, then
  // each key's encoding as take_changes() gave it. Corruption if the bytes
  // do not decode (or fail their checksum).
  void restore_watermark(int64_t wm) { wm_ = wm; }
  Status restore(const std::string& key, std::string_view encoded);

  // Bytes of state, by capacity (what the allocator holds), by part.
  struct memory_use {
    size_t keys = 0;          // keys held (with open windows, or changed since the last take_changes)
    size_t windows = 0;       // window slots (20 bytes each)
    size_t timers = 0;        // the timer queue (an entry of 8 bytes per window slot)
    size_t key_slots = 0;     // the keys' hash slots (16 bytes, with each key's window list head)
    size_t counts = 0;        // --count-by counters, and the interned values
    size_t sums = 0;          // --sum-field sums
    size_t key_records = 0;   // per key: id -> slot and length; the changed keys' list
    size_t key_bytes = 0;     // the bytes of keys longer than 8 (shorter ones are in their slot)
    // What each open session costs: its window, timer entry, share of the
    // hash slots, counts and sum.
    size_t per_session_bytes() const { return windows + timers + key_slots + counts + sums; }
    // Everything but the key bytes.
    size_t total_bytes() const { return per_session_bytes() + key_records; }
  };
  memory_use memory() const;

 private:
  static constexpr uint32_t kNil = (1u << 31) - 1;  // no slot (fits under kDirty)
  static constexpr uint32_t kDirty = 1u << 31;  // the key changed since the last checkpoint
  static constexpr uint32_t kMaxKeySlots = 1u << 29;  // the window's key field
  static constexpr int64_t kFreeEnd = INT64_MIN;  // a free slot's end (a window's is later: gap > 0)

  // 20 bytes, 4-aligned: the start is kept as the window's length, which
  // fits 32 bits unless the session spans 49 days or more (such a window
  // keeps its start in long_starts_ instead).
#pragma pack(push, 4)
  struct window {
    int64_t end;
    uint32_t length;       // end - start, or kLongLength
    uint32_t key : 29;     // the key's slot in keys_ (kept up to date as slots move)
    uint32_t pending : 1;  // holds contents not yet emitted: fires when the watermark reaches end-1
    uint32_t emitted : 1;  // fired before (so a new firing is a late update)
    uint32_t zombie : 1;   // merged away; the slot is free once its timer entry comes due
    uint32_t next;         // the key's next window (by start), or the next free slot
  };
#pragma pack(pop)
  static_assert(sizeof(window) == 20);
  static constexpr uint32_t kLongLength = UINT32_MAX;
  int64_t start_of(uint32_t slot) const {
    const window& w = windows_[slot];
    return w.length != kLongLength ? w.end - static_cast<int64_t>(w.length) : long_start(slot);
  }
  int64_t long_start(uint32_t slot) const;
  void set_bounds(uint32_t slot, int64_t start, int64_t end) {
    window& w = windows_[slot];
    uint64_t length = static_cast<uint64_t>(end) - static_cast<uint64_t>(start);
    if (length < kLongLength && w.length != kLongLength) [[likely]] {
      w.length = static_cast<uint32_t>(length);
      w.end = end;
    } else {
      set_long_bounds(slot, start, end);
    }
  }
  void set_long_bounds(uint32_t slot, int64_t start, int64_t end);
  struct sum {
    int64_t i = 0;
    double f = 0;
    bool is_float = false;
    void merge(const sum& o);
  };
  struct pending_fire {
    int64_t end;  // copied: the sort reads no window
    uint32_t slot;
    bool late_update;
  };

  int64_t cleanup_time(int64_t end) const {
    int64_t max_ts = end - 1;
    return max_ts > INT64_MAX - o_.allowed_lateness ? INT64_MAX : max_ts + o_.allowed_lateness;
  }
  int64_t due(const window& w) const { return w.pending ? w.end - 1 : cleanup_time(w.end); }
  // A key's value in keys_ (kv): its first window's slot (or kNil) | kDirty.
  uint32_t head(uint32_t key) const { return keys_.value(key) & ~kDirty; }
  void set_head(uint32_t key, uint32_t slot) { set_head_in(keys_.value(key), slot); }
  void mark_dirty_at(uint32_t kslot) { mark_dirty(keys_.id_at(kslot), keys_.value_at(kslot)); }
  static void set_head_in(uint32_t& kv, uint32_t slot) { kv = (kv & kDirty) | slot; }
  void mark_dirty(uint32_t key, uint32_t& kv) {
    if (!(kv & kDirty)) {
      kv |= kDirty;
      if (dirty_.size() == dirty_.capacity()) dirty_.reserve(dirty_.capacity() + dirty_.capacity() / 4 + 16);
      dirty_.push_back(key);
    }
  }
  uint32_t new_key(std::string_view key, uint64_t h);
  void relink(uint32_t kslot);
  uint32_t alloc_slot();
  void free_slot(uint32_t slot);
  void unlink(uint32_t slot);
  sum get_sum(uint32_t slot) const;
  void put_sum(uint32_t slot, const sum& s);
  bool step(int64_t wm);
  void flush_all();
  void end_step();
  fired_session make_fired(uint32_t slot, bool late_update, std::vector<value_count>* counts);
  void append_fired(uint32_t slot, bool late_update, std::vector<fired_session>* fired);
  void finish_fired(std::vector<fired_session>* fired);
  void encode(uint32_t key, std::string* out);

  options o_;
  int64_t wm_ = INT64_MIN;
  size_t open_ = 0;
  key_table keys_;
  uint64_t keys_layout_ = 0;  // keys_.layout() as windows' key fields last followed it
  std::vector<uint32_t> dirty_;  // keys to write at the next checkpoint
  std::vector<window> windows_;
  std::unordered_map<uint32_t, int64_t> long_starts_;  // by slot: the starts that do not fit a window's length
  uint32_t free_slot_ = kNil;
  timer_queue timers_;
  uint32_t next_due_ = kNil;  // the slot of the timer due next, as last prefetched
  count_table counts_;         // a row per slot
  std::vector<sum> sums_;      // per slot; empty until a sum is seen
  // Scratch, kept to reuse its capacity.
  struct counts_span {
    size_t index, begin, length;  // fired entry, its counts in fired_counts_
  };
  std::vector<pending_fire> firing_;
  std::vector<uint32_t> dropped_;
  std::vector<value_count> fired_counts_;
  std::vector<counts_span> fired_spans_;
  std::vector<std::pair<uint32_t, int64_t>> entries_;
  std::string key_text_, encoded_;
  std::vector<char> encode_buf_;
};

}  // namespace kappa
