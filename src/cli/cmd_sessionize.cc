// kappa sessionize: event-time session windows from one topic into another,
// exactly once (kappa/session_job.h), or from stdin to stdout as a filter.
#include <chrono>
#include <cstdio>

#include "adapters/line_reader.h"
#include "adapters/output_buffer.h"
#include "cli/cli_common.h"
#include "cli/session_run.h"
#include "kappa/session_job.h"
#include "processor/session_task.h"
#include "util/clock.h"
#include "util/duration.h"

namespace kappa::cli {
namespace {

// The job's options as the command line gives them: the durations and
// --from as text until they are checked.
struct sessionize_opts {
  session_job_options job;
  std::string gap, max_out_of_orderness = "0", allowed_lateness = "0", from = "earliest", checkpoint_interval = "1s",
      idle_timeout = "0";
};

std::string summary(const session_task_stats& s) {
  return plural(s.events, "event", "events") + ", " + plural(s.sessions, "session", "sessions") + " emitted, " +
         std::to_string(s.late) + " late, " + std::to_string(s.malformed) + " malformed";
}

// --input - --output -: stdin lines to session values on stdout, with one
// partition's semantics; the end of stdin fires every open session. Lines
// have no record timestamps: with --idle-timeout, a line's is the time it
// was read, and stdin quiet for longer than that fires what is due.
int filter(const session_task_options& to) {
  using clock = line_reader::clock;
  constexpr auto kLook = std::chrono::milliseconds(200);  // how often quiet stdin is looked at
  bool idle = to.idle_timeout > 0;
  output_buffer out(1);
  line_reader in(0, 64u << 20);
  uint64_t malformed_noted = 0;
  std::string_view line;
  session_task task(
      to,
      [&](std::string_view, int64_t, std::string_view value) {
        out.put(value);
        out.put("\n");
      },
      [&](std::string_view, const std::string* why) {
        if (why && ++malformed_noted <= 10)
          note("line " + std::to_string(in.line_number()) + ": malformed event (" + *why + "), counted and skipped");
      });
  for (;;) {
    auto r = idle ? in.next(&line, clock::now() + kLook) : in.next(&line);
    if (r == line_reader::result::timeout) {
      if (task.advance_idle(wall_clock_ms()) && !out.flush()) break;
      continue;
    }
    if (r == line_reader::result::eof) break;
    if (r == line_reader::result::error) return fail(Status::FromErrno("reading stdin", in.error()));
    if (r == line_reader::result::too_long) {
      note("line " + std::to_string(in.line_number()) + " is longer than 64 MiB; skipped");
      continue;
    }
    if (line.empty()) continue;
    int64_t read_at = idle ? wall_clock_ms() : 0;
    task.before_record(read_at);
    task.feed(line);
    task.after_record(read_at);
    if (out.failed()) break;
    // No checkpoints here: forget, now and then, the keys whose sessions
    // are all gone (a checkpoint would), so an endless stream of new keys
    // does not grow memory.
    if ((in.line_number() & 0xffff) == 0) task.windows().take_changes([](const std::string&, const std::string*) {});
  }
  if (!out.failed()) task.finish();
  bool flushed = out.flush();
  note("sessionize: " + summary(task.stats()));
  if (!flushed && out.error() != EPIPE) return fail(Status::FromErrno("writing stdout", out.error()));
  return kExitOk;
}

int sessionize(const sessionize_opts& o, context& ctx) {
  session_job_options jo = o.job;
  struct duration_opt {
    const std::string& text;
    const char* name;
    int64_t* out;
  };
  for (const auto& d : {duration_opt{o.gap, "--gap", &jo.gap_ms},
                        duration_opt{o.max_out_of_orderness, "--max-out-of-orderness", &jo.max_out_of_orderness_ms},
                        duration_opt{o.allowed_lateness, "--allowed-lateness", &jo.allowed_lateness_ms},
                        duration_opt{o.checkpoint_interval, "--checkpoint-interval", &jo.checkpoint_interval_ms},
                        duration_opt{o.idle_timeout, "--idle-timeout", &jo.idle_timeout_ms}}) {
    auto v = parse_duration(d.text, d.name);
    if (!v.ok()) return fail(v.status());
    *d.out = v.value();
  }
  if (jo.gap_ms <= 0) return usage_error("--gap must be greater than 0");
  if (jo.checkpoint_interval_ms <= 0) return usage_error("--checkpoint-interval must be greater than 0");
  if (o.from != "earliest" && o.from != "latest")
    return usage_error("invalid --from value '" + o.from + "': expected earliest or latest");
  jo.from_latest = o.from == "latest";
  if (jo.follow && jo.flush_at_end)
    return usage_error("--flush-at-end does not go with --follow: a followed input has no end (stop the job, "
                       "then run it once more with --flush-at-end to close the remaining sessions)");

  bool in_std = jo.input == "-", out_std = jo.output == "-";
  if (in_std || out_std) {
    if (!in_std || !out_std)
      return usage_error(in_std ? "--input - (stdin) needs --output - (stdout): events from stdin cannot be replayed, "
                                  "so they are not checkpointed into a topic; produce them to a topic first"
                                : "--output - (stdout) needs --input - (stdin); to see a topic's sessions, write "
                                  "them to an output topic and consume it");
    if (!jo.late_output.empty() || !jo.group.empty() || jo.follow || jo.read_archive || o.from != "earliest")
      return usage_error("--late-output, --group, --follow, --archive and --from do not apply to stdin/stdout "
                         "filter mode (late and malformed events are counted on stderr)");
    return filter(task_options_of(jo));
  }

  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  return run_session_job(*dd, jo, session_run_display{"sessionize " + jo.input + " -> " + jo.output}, nullptr);
}

}  // namespace

void add_sessionize(CLI::App& app, context& ctx) {
  static sessionize_opts o;
  auto* cmd = app.add_subcommand(
      "sessionize",
      "event-time session windows (Flink's EventTimeSessionWindows), exactly once, from a topic into a topic");
  cmd->add_option("--input", o.job.input, "input topic of JSON events, or - for stdin (filter mode)")->required();
  cmd->add_option("--output", o.job.output, "output topic of sessions (created if missing), or - for stdout")->required();
  cmd->add_option("--key-field", o.job.key_field, "JSON field holding the session key")->required();
  cmd->add_option("--time-field", o.job.time_field, "JSON field holding the event time (ms since the epoch)")->required();
  cmd->add_option("--gap", o.gap, "session gap: 250ms, 30s, 30m, 2h, 1d or ms")->required();
  cmd->add_option("--max-out-of-orderness", o.max_out_of_orderness,
                  "watermark = max event time - this - 1 (bounded out-of-orderness)");
  cmd->add_option("--allowed-lateness", o.allowed_lateness,
                  "keep fired windows this long past the watermark; later events update them (late_update)");
  cmd->add_option("--count-by", o.job.count_by, "count each session's events by the values of this field");
  cmd->add_option("--sum-field", o.job.sum_field, "sum this numeric field per session");
  cmd->add_option("--late-output", o.job.late_output,
                  "topic for late events and malformed ones (with a kappa.error header saying why)");
  cmd->add_option("--watermark-field", o.job.watermark_field,
                  "a record with this field is a punctuation: it sets the watermark, and is not an event");
  cmd->add_option("--idle-timeout", o.idle_timeout,
                  "a partition quiet for longer than this (by its records' timestamps) has its watermark advanced "
                  "by the excess, so its last sessions close; 0 (default) turns it off");
  cmd->add_option("--from", o.from, "where a new job starts: earliest or latest");
  cmd->add_option("--group", o.job.group, "job name for offsets and checkpoint (default: sessionize:<output>)");
  cmd->add_flag("--follow", o.job.follow, "keep processing records as they are appended (stop with SIGTERM/SIGINT)");
  cmd->add_flag("--flush-at-end", o.job.flush_at_end,
                "at the end of the input, advance the watermark to +inf and emit every open session");
  cmd->add_option("--checkpoint-interval", o.checkpoint_interval, "how often each partition checkpoints");
  cmd->add_option("--threads", o.job.threads, "worker threads for the input partitions (0: one per core)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--archive", o.job.read_archive, "read the input's archived segments (archive.dir) first");
  cmd->callback([&] { ctx.run = [&] { return sessionize(o, ctx); }; });
}

}  // namespace kappa::cli
