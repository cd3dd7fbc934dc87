#include "cli/session_run.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>

#include "cli/cli_common.h"

namespace kappa::cli {
namespace {

session_job* g_job = nullptr;
volatile std::sig_atomic_t g_signalled = 0;
void on_signal(int) {
  g_signalled = 1;
  if (g_job) g_job->stop();
}

std::string clock_time(double secs) {
  long s = static_cast<long>(secs + 0.5);
  char b[32];
  if (s >= 3600)
    std::snprintf(b, sizeof b, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(b, sizeof b, "%ld:%02ld", s / 60, s % 60);
  return b;
}

}  // namespace

std::string event_time(int64_t ms) {
  if (ms == INT64_MIN) return "none";
  if (ms == INT64_MAX) return "end of input";
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char b[48];
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(((ms % 1000) + 1000) % 1000));
  return b;
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

int run_session_job(data_dir& dd, const session_job_options& o, const session_run_display& d,
                    session_run_result* result) {
  auto job = session_job::open(dd, o, [](const std::string& msg) { note(msg); });
  if (!job.ok()) return fail(job.status());
  session_job& j = *job.value();
  const session_job_stats before = j.stats();

  g_job = &j;
  g_signalled = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  Status st;
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread runner([&] {
    Status rs = j.run();
    std::lock_guard<std::mutex> g(mu);
    st = rs;
    finished = true;
    cv.notify_one();
  });
  // The progress line: twice a second on a terminal; with an ETA, also
  // without one, every five seconds.
  const bool tty = ::isatty(2);
  auto start = std::chrono::steady_clock::now();
  auto last_line = start;
  bool shown = false, announced = false;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu);
      if (cv.wait_for(l, std::chrono::milliseconds(d.on_caught_up ? 100 : 500), [&] { return finished; })) break;
    }
    if (d.on_caught_up && !announced && j.stats().caught_up) {
      announced = true;
      if (shown) std::fprintf(stderr, "\r\033[K");
      d.on_caught_up();
    }
    auto now = std::chrono::steady_clock::now();
    if (tty ? now - last_line < std::chrono::milliseconds(500) : !d.eta || now - last_line < std::chrono::seconds(5))
      continue;
    last_line = now;
    session_job_stats s = j.stats();
    double secs = std::chrono::duration<double>(now - start).count();
    double rate = secs > 0 ? static_cast<double>(s.processed_this_run) / secs : 0.0;
    std::string line = std::to_string(s.events - before.events) + " events, " +
                       std::to_string(static_cast<long long>(rate)) + " events/s, lag " + std::to_string(s.lag);
    if (d.eta) {
      double total = static_cast<double>(s.processed_this_run + static_cast<uint64_t>(s.lag));
      char pct[32];
      std::snprintf(pct, sizeof pct, " (%.0f%% replayed)", total > 0 ? 100.0 * s.processed_this_run / total : 100.0);
      line += pct;
      line += ", ETA " + (rate > 0 ? clock_time(static_cast<double>(s.lag) / rate) : std::string("unknown"));
    }
    line += ", watermark " + event_time(s.min_watermark) + ", " + std::to_string(s.open_sessions) + " open sessions";
    if (tty) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      shown = true;
    } else {
      note(d.label + ": " + line);
    }
  }
  runner.join();
  g_job = nullptr;
  if (shown) std::fprintf(stderr, "\r\033[K");

  session_job_stats after = j.stats();
  if (result) *result = session_run_result{before, after, g_signalled != 0};
  note(d.label + ": " + plural(after.events - before.events, "event", "events") + ", " +
       plural(after.sessions - before.sessions, "session", "sessions") + " emitted, " +
       std::to_string(after.late - before.late) + " late, " + std::to_string(after.malformed - before.malformed) +
       " malformed, " + plural(after.checkpoints, "checkpoint", "checkpoints") + "; " +
       plural(after.open_sessions, "session", "sessions") + " still open" +
       (after.open_sessions ? " (kept in job " + j.group() + "'s checkpoint)" : "") +
       ((after.late > before.late || after.malformed > before.malformed) && !o.late_output.empty()
            ? "; late and malformed events are in " + o.late_output
            : ""));
  if (!st.ok()) return fail(st);
  return kExitOk;
}

}  // namespace kappa::cli
