// Runs a session job in the foreground, for the verbs that do (sessionize,
// job run, job reprocess): SIGINT and SIGTERM stop it after a checkpoint,
// a progress line goes to stderr while it runs and a summary when it ends.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "kappa/session_job.h"

namespace kappa::cli {

struct session_run_display {
  explicit session_run_display(std::string l, bool with_eta = false) : label(std::move(l)), eta(with_eta) {}
  std::string label;  // "sessionize clicks -> sessions", "job clicks-sessions v2"
  // Show how much of the replay is done and an ETA to catching up; then
  // the progress goes out also when stderr is no terminal, a line every
  // few seconds (a reprocess can take long, and logs should show it).
  bool eta = false;
  // Called once, on this thread, when every partition has caught up with
  // its input (what a following reprocess announces while it goes on).
  std::function<void()> on_caught_up;
};

struct session_run_result {
  session_job_stats before, after;  // at open, at the end
  bool interrupted = false;         // stopped by a signal
};

// Opens and runs the job. Returns the exit code; errors are printed.
int run_session_job(data_dir& dd, const session_job_options& o, const session_run_display& d,
                    session_run_result* result);

// "2023-11-14T22:13:20.000Z"; "none" before the first event, "end of
// input" for the watermark after a final flush.
std::string event_time(int64_t ms);

std::string plural(uint64_t n, const char* one, const char* many);

}  // namespace kappa::cli
