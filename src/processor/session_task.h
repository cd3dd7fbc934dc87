// One input partition of a sessionize job: JSON event lines in, session
// records and late/malformed lines out, in a deterministic order that
// depends only on the input (so live and replay runs agree).
//
// Per line: a punctuation raises the watermark; an event is judged against
// the watermark as it stood before it (late, or added, maybe firing its
// window again at once), then the watermark moves on from its time and the
// windows whose time has come fire, ordered by (window_end, key).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kappa/session_job.h"
#include "processor/idle_clock.h"
#include "processor/session_events.h"
#include "processor/session_json.h"
#include "processor/session_windows.h"
#include "processor/watermark.h"

namespace kappa {

struct session_task_options {
  session_fields fields;
  int64_t gap = 1;
  int64_t max_out_of_orderness = 0;
  int64_t allowed_lateness = 0;
  int64_t idle_timeout = 0;  // --idle-timeout (0: off), see idle_clock.h
};

// What one partition's task does under a session job's options (the
// topics, threads and checkpoints are the job's business, not the task's).
session_task_options task_options_of(const session_job_options& o);

struct session_task_stats {
  uint64_t events = 0, late = 0, malformed = 0, sessions = 0;
};

class session_task {
 public:
  // A fired session: key, record timestamp (window_end - 1), JSON value.
  using session_fn = std::function<void(std::string_view key, int64_t timestamp, std::string_view value)>;
  // A line that is not folded in: the line itself, and why (nullptr: late).
  using rejected_fn = std::function<void(std::string_view line, const std::string* why)>;

  session_task(const session_task_options& o, session_fn on_session, rejected_fn on_rejected);

  // REQUIRES: 64 readable bytes after the line (simdjson's padding).
  // Those bytes are also read as a hint, never trusted: when they hold the
  // start of the next record, as in a log segment or a read buffer, the
  // next event's key state starts loading into the cache early.
  void feed(std::string_view line) { feed(line, true); }
  // The same, for a caller that hinted this line ahead (below): no guess
  // at the next line.
  void feed_hinted(std::string_view line) { feed(line, false); }
  // Hints, for a caller that holds the lines to come (they change nothing
  // but what is in the cache; a wrong or stale one costs a lookup): some
  // lines ahead of feeding a line, prefetch_key() starts loading its
  // key's hash slot; a few lines later, once that is in, prefetch_state()
  // its window and counts. Called in the same order for the same lines,
  // prefetch_state() finds the key prefetch_key() read (in a ring of
  // kHints); otherwise it reads it again. REQUIRES: as feed().
  static constexpr size_t kHints = 32;
  void prefetch_key(std::string_view line);
  void prefetch_state(std::string_view line);
  // A record with no line at all (a null value): counted as malformed and
  // handed to on_rejected with the reason, like a line that fails to parse.
  void feed_null();
  // --idle-timeout, around each input record with its record timestamp:
  // before_record() advances the watermark over the quiet time before it
  // (firing what is due), after_record() remembers it for the next one.
  void before_record(int64_t timestamp) {
    if (idle_.enabled()) advance_idle(timestamp);
  }
  void after_record(int64_t timestamp) {
    if (idle_.enabled()) idle_.record(timestamp, wm_.current());
  }
  // The end of the input as it stands: the same rule with the wall clock
  // `now` as the next record's time. True if the watermark moved.
  bool advance_idle(int64_t now);
  const idle_clock& idle() const { return idle_; }
  // Restores what the rule remembers from a checkpoint.
  void restore_idle(int64_t last_timestamp, int64_t watermark_after_last) {
    idle_.restore(last_timestamp, watermark_after_last);
  }
  // The end of a finite input (--flush-at-end): the watermark goes to +inf
  // and every open session fires.
  void finish();

  const session_task_stats& stats() const { return stats_; }
  int64_t watermark() const { return wm_.current(); }
  session_windows& windows() { return windows_; }
  // Restores the watermark from a checkpoint (with windows().restore()).
  void restore_watermark(int64_t wm);

 private:
  void emit(const fired_session& s);
  void emit(std::vector<fired_session>& fired);
  static void emit_fired(void* task, const fired_session& s);
  void feed(std::string_view line, bool look_ahead);
  std::string_view key_at(const char* p) const;

  session_json_options json_;
  session_event_parser parser_;
  session_windows windows_;
  watermark_tracker wm_;
  idle_clock idle_;
  session_fn on_session_;
  rejected_fn on_rejected_;
  session_task_stats stats_;
  struct hint {
    const char* line = nullptr;  // the line it was read from
    const char* key = nullptr;
    size_t length = 0;
    uint64_t hash = 0;
  };
  hint hints_[kHints];
  size_t hints_in_ = 0, hints_out_ = 0;
  std::vector<fired_session> fired_;
  std::string value_;
  std::string key_pattern_;  // "<key field>":"
  std::string time_field_;
  int64_t max_time_;  // the latest event time whose window end is representable
};

}  // namespace kappa
