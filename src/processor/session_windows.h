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
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kappa/status.h"

namespace kappa {

// What a session accumulates: event count, per-value counts of one field
// (--count-by) and the sum of another (--sum-field; integers stay integers).
struct session_aggregate {
  int64_t count = 0;
  std::vector<std::pair<std::string, int64_t>> counts;  // in first-seen order
  int64_t sum_int = 0;
  double sum_float = 0;
  bool sum_is_float = false;

  void merge(const session_aggregate& o);
};

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

// A window that fired: its contents as of now.
struct fired_session {
  std::string key;
  int64_t start = 0, end = 0;  // [start, end): first event time, last event time + gap
  session_aggregate agg;
  bool late_update = false;  // an earlier firing of (part of) this session was emitted
};

class session_windows {
 public:
  struct options {
    int64_t gap = 1;                // > 0
    int64_t allowed_lateness = 0;   // >= 0
  };
  explicit session_windows(options o) : o_(o) {}

  // Adds an event, judged against the current watermark. Returns false if
  // it is late (nothing changed). A window that fires at once (a late
  // firing within allowed lateness) is appended to *fired.
  bool add(const session_event& e, std::vector<fired_session>* fired);
  // Raises the watermark to wm (a lower one is ignored): windows whose end-1
  // it reaches fire, appended to *fired in (end, key) order; windows past
  // their allowed lateness are dropped. INT64_MAX fires and drops all (the
  // end of a finite input).
  void advance_watermark(int64_t wm, std::vector<fired_session>* fired);

  int64_t watermark() const { return wm_; }
  size_t open_windows() const { return open_; }

  // Checkpoints (incremental): calls fn once for every key whose windows
  // changed since the last call, with their encoding, or with nullptr when
  // the key has no windows left; then forgets the changes.
  void take_changes(const std::function<void(const std::string& key, const std::string* encoded)>& fn);
  // Restores from a checkpoint into an empty operator: the watermark, then
  // each key's encoding as take_changes() gave it. Corruption if the bytes
  // do not decode (or fail their checksum).
  void restore_watermark(int64_t wm) { wm_ = wm; }
  Status restore(const std::string& key, std::string_view encoded);

 private:
  struct window {
    int64_t start, end;
    bool pending;  // holds contents not yet emitted; a fire timer is queued
    bool emitted;  // fired before (so a new firing is a late update)
    session_aggregate agg;
  };
  struct timer {
    int64_t time;
    std::string key;
    int64_t start, end;
    bool operator>(const timer& o) const { return time != o.time ? time > o.time : key > o.key; }
  };
  using timer_queue = std::priority_queue<timer, std::vector<timer>, std::greater<timer>>;

  int64_t cleanup_time(const window& w) const;
  void schedule(const std::string& key, const window& w);
  void fire(const std::string& key, window& w, std::vector<fired_session>* fired);
  window* find(const std::string& key, int64_t start, int64_t end);

  options o_;
  int64_t wm_ = INT64_MIN;
  size_t open_ = 0;
  // Per key, its windows sorted by start: disjoint and not touching.
  std::unordered_map<std::string, std::vector<window>> keys_;
  timer_queue fire_timers_, cleanup_timers_;  // lazily invalidated by merges
  std::unordered_set<std::string> changed_;   // keys to write at the next checkpoint
};

}  // namespace kappa
