// kappa/session_job.h — an exactly-once session-window job over topics of a
// data dir: what `kappa sessionize` runs, for programs that embed it.
//
//   kappa::session_job_options o;
//   o.input = "clicks"; o.output = "sessions";
//   o.key_field = "user_id"; o.time_field = "timestamp_ms"; o.gap_ms = 30 * 60000;
//   auto job = kappa::session_job::open(*dd, o).value();
//   kappa::Status st = job->run();
//
// Semantics are Flink's EventTimeSessionWindows with EventTimeTrigger and
// allowed lateness (SPEC section 5). Each input partition is processed on
// its own, with its own watermark and state, and writes the same partition
// number of the output (and late-output) topic, so the output depends only
// on the input.
//
// Exactly once: every checkpoint_interval_ms, and when the job stops or
// waits for input, each partition makes its outputs durable and then
// commits in one LMDB transaction its input position, its watermark, the
// window state that changed since its last checkpoint, its outputs' end
// offsets and the job group's offset. open() cuts the outputs back to the
// last checkpoint (what a crash left after it is discarded) and run()
// resumes from there, so any number of crashes leaves the same records,
// at the same offsets, as one uninterrupted run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kappa/catalog.h"
#include "kappa/data_dir.h"
#include "kappa/status.h"

namespace kappa {

struct session_job_options {
  std::string input, output;  // topics; the output is created if missing
  std::string late_output;    // topic for late and malformed records ("" = count them only)
  std::string group;          // checkpoint and offsets ("" = "sessionize:<output>")
  std::string key_field, time_field;
  std::string count_by, sum_field, watermark_field;  // "" = not used
  int64_t gap_ms = 0;                                // > 0
  int64_t max_out_of_orderness_ms = 0;
  int64_t allowed_lateness_ms = 0;
  // --idle-timeout (0: off): a partition whose input goes quiet for longer
  // has its watermark advanced by the quiet time, measured by record
  // timestamps (SPEC section 5), so its last sessions close.
  int64_t idle_timeout_ms = 0;
  bool from_latest = false;  // where a job without a checkpoint starts
  bool follow = false;       // keep processing what is appended
  bool until_caught_up = false;  // with follow: stop once every partition has reached the log end
  bool flush_at_end = false; // at the end of the input, fire every open session
  bool read_archive = false; // read the input's archive tier first
  int threads = 0;           // 0 = one per core (never more than partitions)
  int64_t checkpoint_interval_ms = 1000;
};

// Counters over all partitions; since the job first started, except
// checkpoints (this run) and open_sessions/lag (now).
struct session_job_stats {
  uint64_t events = 0, sessions = 0, late = 0, malformed = 0;
  uint64_t checkpoints = 0;
  uint64_t open_sessions = 0;
  int64_t lag = 0;                  // input records not yet processed, as of the last look
  int64_t min_watermark = INT64_MIN;  // the lowest partition watermark
  bool caught_up = false;  // every partition has reached its log end (and checkpointed) in this run
  uint64_t processed_this_run = 0;  // input records read by this run
};

class session_job {
 public:
  // Validates the options (Invalid for usage problems), checks the topics
  // (NotFound), takes the job's lock (Busy if another process runs it),
  // restores the checkpoint and truncates the outputs back to it. `note`
  // receives human-readable remarks (restored state, truncation,
  // malformed-record samples); it may be called from worker threads, one
  // call at a time.
  // The input may be an alias (data_dir::resolve_topic): the job reads the
  // topic it points to now, and a checkpoint made reading another topic is
  // refused.
  static Result<std::unique_ptr<session_job>> open(data_dir& dd, const session_job_options& o,
                                                   std::function<void(const std::string&)> note = {});
  // The checks open() makes of the options alone: Invalid, naming the option.
  static Status validate(const session_job_options& o);
  // The output topic `name` for input `input`: created like the input (same
  // partition count and retention) if missing; Invalid if it exists with
  // fewer partitions than the input.
  static Result<topic_meta> prepare_output(data_dir& dd, const std::string& name, const topic_meta& input);
  // The pid of the process running the job of this group, or 0 if none.
  // Reads the job lock's pid field without taking the lock.
  static int running_pid(const data_dir& dd, const std::string& group);
  ~session_job();

  // Processes until the end of the input as of open() (or, with follow,
  // until stop()), then checkpoints. The first error stops every partition
  // and is returned; what was checkpointed before stays.
  Status run();
  // Asks run() to checkpoint and return soon. Safe from a signal handler.
  void stop() { stop_.store(true, std::memory_order_relaxed); }
  // A snapshot, safe to call from another thread while run() works.
  session_job_stats stats() const;
  const std::string& group() const;

  struct impl;

 private:
  session_job() = default;
  std::unique_ptr<impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace kappa
