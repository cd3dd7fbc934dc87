// The exactly-once runner behind `kappa sessionize`: one session_task per
// input partition, on a few worker threads, reading through the public
// partition reader and writing through the public appender, with
// checkpoints in the catalog (see kappa/session_job.h for the protocol).
#include "kappa/session_job.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <mutex>
#include <thread>
#include <vector>

#include "io/file.h"
#include "kappa/catalog.h"
#include "kappa/log.h"
#include "log/partition_lock.h"
#include "log/topic_name.h"
#include "processor/checkpoint_state.h"
#include "processor/job_options.h"
#include "processor/session_task.h"
#include "util/clock.h"
#include "util/duration.h"

namespace kappa {

namespace {

// Where in a partition's input a run is, and what it writes to.
struct partition_run {
  int32_t partition = 0;
  std::unique_ptr<partition_reader> reader;
  std::unique_ptr<partition_appender> out, late;
  std::unique_ptr<session_task> task;
  partition_checkpoint base;       // as restored: counters before this run
  partition_checkpoint cp;         // the last one committed
  int64_t next = 0;                // next input offset to process
  int64_t stop_at = INT64_MAX;     // end of the input as of open(), unless following
  int64_t last_checkpoint_ms = 0;
  int64_t known_end = 0;           // the input's log end as last looked at
  bool dirty = false;              // processed something since the last checkpoint
  bool done = false;
  const record_view* current = nullptr;  // the input record being fed
  Status error;                    // the first failure inside a task callback
  std::vector<record_header> headers;
  state_blob_writer blob;          // the state part of the next checkpoint
  // What other threads may read while this partition runs.
  std::atomic<uint64_t> events{0}, sessions{0}, late_n{0}, malformed{0}, open_sessions{0}, processed{0};
  std::atomic<int64_t> watermark{INT64_MIN}, lag{0};
  std::atomic<bool> caught_up{false};  // reached the log end, checkpointed, once in this run
};

}  // namespace

struct session_job::impl {
  data_dir* dd = nullptr;
  session_job_options o;
  std::string group;
  job_definition def;
  topic_meta input, output, late;
  bool has_late = false;
  partition_lock lock;
  std::vector<std::unique_ptr<partition_run>> parts;
  std::function<void(const std::string&)> note;
  std::mutex note_mu;
  std::atomic<uint64_t> checkpoints{0};
  int64_t started_ms = 0;  // when this run opened the job
  std::atomic<bool>* stop = nullptr;
  std::mutex error_mu;
  Status first_error;

  void say(const std::string& msg) {
    if (!note) return;
    std::lock_guard<std::mutex> g(note_mu);
    note(msg);
  }
  std::string where(int32_t p) const { return partition_name(input.name, p); }

  Status restore(partition_run& s);
  partition_checkpoint current(const partition_run& s) const;
  void reject(partition_run& s, const std::string* why);
  Status checkpoint(partition_run& s);
  Status step(partition_run& s, bool* progressed);
  Status advance_idle(partition_run& s);
  void publish(partition_run& s);
  Status work(const std::vector<partition_run*>& mine);
  // Worker threads: --threads, or one per core.
  size_t threads() const {
    return o.threads > 0 ? static_cast<size_t>(o.threads) : std::max(1u, std::thread::hardware_concurrency());
  }
  void fail(const Status& st) {
    std::lock_guard<std::mutex> g(error_mu);
    if (first_error.ok()) first_error = st;
    stop->store(true, std::memory_order_relaxed);
  }
};

namespace {

// The options that decide the output: a checkpoint made with other ones
// cannot be continued.
std::string options_text(const session_job_options& o) {
  std::string s;
  auto add = [&](const char* name, const std::string& v) {
    if (v.empty()) return;
    s += name;
    s += '=';
    s += v;
    s += '\n';
  };
  add("output", o.output);
  add("late-output", o.late_output);
  add("key-field", o.key_field);
  add("time-field", o.time_field);
  add("gap", format_duration(o.gap_ms));
  add("max-out-of-orderness", format_duration(o.max_out_of_orderness_ms));
  add("allowed-lateness", format_duration(o.allowed_lateness_ms));
  add("count-by", o.count_by);
  add("sum-field", o.sum_field);
  add("watermark-field", o.watermark_field);
  if (o.idle_timeout_ms > 0) add("idle-timeout", format_duration(o.idle_timeout_ms));
  return s;
}

// Each differing option as "--gap 30m (checkpoint) vs 20m (now)".
std::string option_differences(const std::string& stored, const std::string& now) {
  auto a = option_lines(stored), b = option_lines(now);
  auto get = [](const auto& kv, const std::string& k) {
    for (const auto& [key, v] : kv)
      if (key == k) return v;
    return std::string("(none)");
  };
  std::vector<std::string> keys;
  for (const auto& [k, v] : a) keys.push_back(k);
  for (const auto& [k, v] : b)
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  std::string out;
  for (const auto& k : keys) {
    std::string x = get(a, k), y = get(b, k);
    if (x == y) continue;
    if (!out.empty()) out += ", ";
    out += "--" + k + " " + x + " in the checkpoint, " + y + " now";
  }
  return out;
}

Result<topic_meta> output_topic(data_dir& dd, const std::string& name, const topic_meta& input, const char* option) {
  KAPPA_RETURN_IF_ERROR(validate_topic_name(name));
  auto t = dd.topic(name);
  if (t.ok()) {
    if (t->partitions < input.partitions)
      return Status::Invalid(std::string(option) + " topic " + name + " has " + std::to_string(t->partitions) +
                             " partition(s) but input topic " + input.name + " has " +
                             std::to_string(input.partitions) +
                             "; output partition = input partition, so it needs at least as many (kappa topic "
                             "create with --partitions " +
                             std::to_string(input.partitions) + ", or another topic)");
    return t;
  }
  if (!t.status().is_not_found()) return t.status();
  // Created like the input: same partition count, same retention (outputs
  // carry the input's event times, so they age the same way).
  topic_meta m;
  m.name = name;
  m.partitions = input.partitions;
  m.created_ms = wall_clock_ms();
  for (const char* k : {"retention.ms", "retention.bytes"}) {
    auto it = input.config.explicit_settings().find(k);
    if (it != input.config.explicit_settings().end()) m.config.set(k, it->second);
  }
  Status st = dd.create_topic(m);
  if (!st.ok() && !st.is_exists()) return st;
  return dd.topic(name);
}

}  // namespace

Status session_job::validate(const session_job_options& o) {
  if (o.gap_ms <= 0) return Status::Invalid("--gap must be greater than 0 (Flink's session gap)");
  if (o.max_out_of_orderness_ms < 0 || o.allowed_lateness_ms < 0)
    return Status::Invalid("--max-out-of-orderness and --allowed-lateness must not be negative");
  if (o.idle_timeout_ms < 0) return Status::Invalid("--idle-timeout must not be negative (0 turns it off)");
  if (o.key_field.empty() || o.time_field.empty()) return Status::Invalid("--key-field and --time-field are required");
  if (o.checkpoint_interval_ms <= 0) return Status::Invalid("--checkpoint-interval must be greater than 0");
  for (const auto* t : {&o.input, &o.output})
    KAPPA_RETURN_IF_ERROR(validate_topic_name(*t));
  if (!o.late_output.empty()) KAPPA_RETURN_IF_ERROR(validate_topic_name(o.late_output));
  if (o.output == o.input || o.late_output == o.input)
    return Status::Invalid("the output topics must differ from the input topic " + o.input +
                           " (a job reading its own output would never end)");
  if (!o.late_output.empty() && o.late_output == o.output)
    return Status::Invalid("--late-output must differ from --output " + o.output +
                           " (late input records and sessions are different kinds of record)");
  return Status::OK();
}

Result<topic_meta> session_job::prepare_output(data_dir& dd, const std::string& name, const topic_meta& input) {
  return output_topic(dd, name, input, "output");
}

namespace {
std::string lock_dir_of(const data_dir& dd, const std::string& group) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64, static_cast<uint64_t>(XXH3_64bits(group.data(), group.size())));
  return dd.path() + "/jobs/" + hex;
}
}  // namespace

int session_job::running_pid(const data_dir& dd, const std::string& group) {
  // The holder writes its pid there and clears it on release; after a
  // kill -9 the pid stays, so check that the process is alive.
  unique_fd fd(::open((lock_dir_of(dd, group) + "/writer.lock").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return 0;
  char text[32] = {};
  if (::pread(fd.get(), text, sizeof text - 1, 0) <= 0) return 0;
  int pid = std::atoi(text);
  if (pid <= 0) return 0;
  return ::kill(pid, 0) == 0 || errno == EPERM ? pid : 0;
}

Result<std::unique_ptr<session_job>> session_job::open(data_dir& dd, const session_job_options& o,
                                                       std::function<void(const std::string&)> note) {
  KAPPA_RETURN_IF_ERROR(validate(o));

  auto job = std::unique_ptr<session_job>(new session_job());
  job->impl_ = std::make_unique<impl>();
  impl& m = *job->impl_;
  m.dd = &dd;
  m.o = o;
  m.note = std::move(note);
  m.stop = &job->stop_;
  m.started_ms = wall_clock_ms();
  m.group = o.group.empty() ? "sessionize:" + o.output : o.group;
  KAPPA_ASSIGN_OR_RETURN(m.input, dd.resolve_topic(o.input));
  m.def = job_definition{m.input.name, options_text(o)};
  if (o.output == m.input.name || o.late_output == m.input.name)
    return Status::Invalid("the output topics must differ from the input topic " + m.input.name +
                           " (a job reading its own output would never end)");
  KAPPA_RETURN_IF_ERROR(dd.ensure_created());
  // Outputs are topics: an alias names what readers read, not where a job writes.
  for (const auto& [name, option] : {std::pair{&o.output, "--output"}, std::pair{&o.late_output, "--late-output"}})
    if (!name->empty())
      if (auto a = dd.catalog()->get_alias(*name); a.ok())
        return Status::Invalid(std::string(option) + " " + *name + " is an alias (of topic " + a->topic +
                               "); a job writes to a topic of its own: choose another name");

  // One run per job: the lock lives under the data dir, named by the group.
  std::string lock_dir = lock_dir_of(dd, m.group);
  KAPPA_RETURN_IF_ERROR(make_dirs(lock_dir));
  auto lock = partition_lock::acquire_writer(lock_dir, "job " + m.group);
  if (!lock.ok())
    return lock.status().is_busy() ? Status::Busy("cannot run job " + m.group + " twice at once: " +
                                                  lock.status().message())
                                   : lock.status();
  m.lock = std::move(lock.value());

  auto stored = dd.catalog()->job_definition_of(m.group);
  if (stored.ok()) {
    if (stored->input != m.input.name)
      return Status::Invalid("job " + m.group + " was checkpointed reading topic " + stored->input + ", not " +
                             m.input.name + (o.input != m.input.name ? " (where alias " + o.input + " points now)" : "") +
                             "; use another --output (or --group) for a new job");
    if (stored->options != m.def.options)
      return Status::Invalid("job " + m.group + " was checkpointed with other options (" +
                             option_differences(stored->options, m.def.options) +
                             "); to reprocess with new options write to a new --output topic (or --group), "
                             "or delete this job's state with `kappa group delete " + m.group + "`");
  } else if (!stored.status().is_not_found()) {
    return stored.status();
  }
  KAPPA_ASSIGN_OR_RETURN(m.output, output_topic(dd, o.output, m.input, "--output"));
  m.has_late = !o.late_output.empty();
  if (m.has_late) {
    KAPPA_ASSIGN_OR_RETURN(m.late, output_topic(dd, o.late_output, m.input, "--late-output"));
  }

  KAPPA_ASSIGN_OR_RETURN(auto cps, dd.catalog()->checkpoints(m.group));
  std::vector<partition_run*> fresh;
  for (int32_t p = 0; p < m.input.partitions; p++) {
    auto s = std::make_unique<partition_run>();
    s->partition = p;
    for (const auto& cp : cps)
      if (cp.partition == p) s->cp = cp;
    if (s->cp.checkpoints == 0) fresh.push_back(s.get());
    s->cp.partition = p;
    s->base = s->cp;
    KAPPA_RETURN_IF_ERROR(m.restore(*s));
    m.parts.push_back(std::move(s));
  }
  // The first checkpoint records where the outputs began, so a crash
  // before the next one cuts them back to here. Each waits for its outputs'
  // sync and its commit, so they are taken on up to --threads threads at
  // once (on a short replay, the wait is a good part of the run).
  size_t n = std::min(m.threads(), fresh.size());
  std::vector<Status> done(fresh.size());
  std::vector<std::thread> threads;
  auto first_checkpoints = [&m, &fresh, &done, n](size_t t) {
    for (size_t i = t; i < fresh.size(); i += n) done[i] = m.checkpoint(*fresh[i]);
  };
  for (size_t t = 1; t < n; t++) threads.emplace_back(first_checkpoints, t);
  if (n > 0) first_checkpoints(0);
  for (auto& t : threads) t.join();
  for (const Status& st : done) KAPPA_RETURN_IF_ERROR(st);
  return job;
}

session_job::~session_job() = default;
const std::string& session_job::group() const { return impl_->group; }

Status session_job::impl::restore(partition_run& s) {
  int32_t p = s.partition;
  partition_run* sp = &s;
  s.task = std::make_unique<session_task>(
      task_options_of(o),
      [this, sp](std::string_view key, int64_t ts, std::string_view value) {
        if (!sp->error.ok()) return;
        sp->error = sp->out->append(ts, bytes_view::of(key), bytes_view::of(value));
      },
      [this, sp](std::string_view, const std::string* why) { reject(*sp, why); });

  KAPPA_ASSIGN_OR_RETURN(s.out, dd->open_appender(output, p));
  if (has_late) {
    KAPPA_ASSIGN_OR_RETURN(s.late, dd->open_appender(late, p));
  }
  KAPPA_ASSIGN_OR_RETURN(s.reader, dd->open_reader(input, p, o.read_archive));
  KAPPA_ASSIGN_OR_RETURN(int64_t end, s.reader->log_end_offset());
  if (!o.follow) s.stop_at = end;

  if (s.cp.checkpoints == 0) {
    KAPPA_RETURN_IF_ERROR(s.out->open_now());
    if (s.late) KAPPA_RETURN_IF_ERROR(s.late->open_now());
    s.next = o.from_latest ? end : s.reader->log_start_offset();
    s.cp.output_end = s.out->next_offset();
    s.cp.late_end = has_late ? s.late->next_offset() : -1;
    if (s.cp.output_end > 0)
      say("output topic " + o.output + " partition " + std::to_string(p) + " already holds " +
          std::to_string(s.cp.output_end) + " record(s); job " + group + " starts fresh and appends after them");
  } else {
    // Back to the checkpoint: the window state and watermark it recorded,
    // and outputs cut back to their checkpointed ends.
    s.task->restore_watermark(s.cp.watermark);
    s.task->restore_idle(s.cp.last_record_timestamp, s.cp.record_watermark);
    session_windows& ws = s.task->windows();
    std::vector<std::string> blobs;
    KAPPA_RETURN_IF_ERROR(dd->catalog()->scan_state(group, p, [&](std::string_view b) {
      blobs.emplace_back(b);
      return Status::OK();
    }));
    state_chain chain;
    for (const auto& b : blobs) KAPPA_RETURN_IF_ERROR(chain.add(b, where(p) + " in job " + group));
    for (const auto& [key, enc] : chain.latest()) KAPPA_RETURN_IF_ERROR(ws.restore(std::string(key), enc));
    auto cut = [&](partition_appender& a, const topic_meta& t, int64_t to) -> Status {
      int64_t at;
      {
        KAPPA_ASSIGN_OR_RETURN(auto r, dd->open_reader(t, p));
        KAPPA_ASSIGN_OR_RETURN(at, r->log_end_offset());
      }
      if (at < to)
        return Status::Corruption(partition_name(t.name, p) + " ends at offset " + std::to_string(at) +
                                  ", before offset " + std::to_string(to) + " where job " + group +
                                  "'s checkpoint says its output reached: records it wrote are gone (was the topic "
                                  "deleted?); start the job over with `kappa group delete " +
                                  group + "` or write to a new --output");
      if (at > to) {
        KAPPA_RETURN_IF_ERROR(a.truncate_to(to));
        say(partition_name(t.name, p) + ": removed offsets " + std::to_string(to) + ".." + std::to_string(at - 1) +
            ", written after job " + group + "'s last checkpoint; processing resumes from there and writes them again");
      }
      return a.open_now();
    };
    KAPPA_RETURN_IF_ERROR(cut(*s.out, output, s.cp.output_end));
    if (has_late) KAPPA_RETURN_IF_ERROR(cut(*s.late, late, s.cp.late_end));
    s.next = s.cp.input_next;
    int64_t start = s.reader->log_start_offset();
    if (s.next < start) {
      say(where(p) + ": job " + group + " checkpointed offset " + std::to_string(s.next) +
          ", which retention has removed; resuming at the log start " + std::to_string(start));
      s.next = start;
    }
  }
  KAPPA_RETURN_IF_ERROR(s.reader->seek(s.next));
  s.known_end = end;
  s.last_checkpoint_ms = wall_clock_ms();
  publish(s);
  return Status::OK();
}

void session_job::impl::reject(partition_run& s, const std::string* why) {
  uint64_t malformed = s.task->stats().malformed;
  if (why && malformed <= 10)
    say(where(s.partition) + " offset " + std::to_string(s.current->offset) + ": malformed event (" + *why + ")" +
        (has_late ? ", written to " + o.late_output : ", counted and skipped (--late-output would keep it)"));
  if (!has_late || !s.error.ok()) return;
  // The input record unchanged, plus a header saying why for a malformed
  // one (a late one is late by definition).
  const record_view& r = *s.current;
  s.headers.clear();
  record_header h;
  for (int32_t i = 0; record_header_at(r, i, &h); i++) s.headers.push_back(h);
  if (why) s.headers.push_back(record_header{"kappa.error", bytes_view::of(*why)});
  s.error = s.late->append(r.timestamp, r.key, r.value, s.headers);
}

partition_checkpoint session_job::impl::current(const partition_run& s) const {
  const session_task_stats& st = s.task->stats();
  partition_checkpoint cp = s.cp;
  cp.input_next = s.next;
  cp.watermark = s.task->watermark();
  cp.last_record_timestamp = s.task->idle().last_timestamp();
  cp.record_watermark = s.task->idle().watermark_after_last();
  cp.output_end = s.out->next_offset();
  cp.late_end = s.late ? s.late->next_offset() : -1;
  cp.events = s.base.events + st.events;
  cp.sessions = s.base.sessions + st.sessions;
  cp.late = s.base.late + st.late;
  cp.malformed = s.base.malformed + st.malformed;
  cp.open_sessions = s.task->windows().open_windows();
  cp.run_started_ms = started_ms;
  cp.run_events = s.processed.load(std::memory_order_relaxed);
  return cp;
}

void session_job::impl::publish(partition_run& s) {
  partition_checkpoint c = current(s);
  s.events.store(c.events, std::memory_order_relaxed);
  s.sessions.store(c.sessions, std::memory_order_relaxed);
  s.late_n.store(c.late, std::memory_order_relaxed);
  s.malformed.store(c.malformed, std::memory_order_relaxed);
  s.open_sessions.store(c.open_sessions, std::memory_order_relaxed);
  s.watermark.store(c.watermark, std::memory_order_relaxed);
  s.lag.store(std::max<int64_t>(0, s.known_end - s.next), std::memory_order_relaxed);
}

Status session_job::impl::checkpoint(partition_run& s) {
  // Outputs first: what the checkpoint says was written must be durable.
  KAPPA_RETURN_IF_ERROR(s.out->sync());
  if (s.late) KAPPA_RETURN_IF_ERROR(s.late->sync());
  partition_checkpoint cp = current(s);
  cp.checkpoints++;
  cp.time_ms = wall_clock_ms();
  // The changed keys as one delta, or, once the deltas outweigh twice the
  // last full snapshot (plus 1 MiB), a new full snapshot that replaces them:
  // restore reads at most about three times the state.
  session_windows& ws = s.task->windows();
  bool full = s.cp.state_bytes > 2 * s.cp.full_bytes + (1u << 20);
  s.blob.clear();
  if (full) {
    ws.take_all([&](const std::string& key, const std::string& enc) { s.blob.put(key, enc); });
  } else {
    ws.take_changes([&](const std::string& key, const std::string* enc) {
      if (enc)
        s.blob.put(key, *enc);
      else
        s.blob.erase(key);
    });
  }
  std::string_view blob = s.blob.finish(full);
  cp.state_bytes = (full ? 0 : s.cp.state_bytes) + blob.size();
  if (full) cp.full_bytes = blob.size();
  KAPPA_RETURN_IF_ERROR(dd->catalog()->commit_checkpoint(group, def, cp, blob, full));
  s.cp = cp;
  s.dirty = false;
  s.last_checkpoint_ms = wall_clock_ms();
  checkpoints.fetch_add(1, std::memory_order_relaxed);
  publish(s);
  return Status::OK();
}

// --idle-timeout at the end of the input as it stands (every record of the
// log read): the rule with the wall clock as the next record's time. What
// fires is checkpointed like any output; a watermark that only moved is not
// (a restart recomputes it from the last record), so a quiet job does not
// commit every time it looks.
Status session_job::impl::advance_idle(partition_run& s) {
  if (!s.task->idle().enabled() || s.next < s.known_end) return Status::OK();
  uint64_t sessions = s.task->stats().sessions;
  size_t open = s.task->windows().open_windows();
  s.current = nullptr;
  if (!s.task->advance_idle(wall_clock_ms())) return Status::OK();
  KAPPA_RETURN_IF_ERROR(s.error);
  if (s.task->stats().sessions != sessions || s.task->windows().open_windows() != open) s.dirty = true;
  return Status::OK();
}

// Feeds one batch of input records. *progressed is set when records were
// read (or damage was reported).
Status session_job::impl::step(partition_run& s, bool* progressed) {
  constexpr size_t kMany = 512;
  static thread_local std::vector<record_view> recs(kMany);
  if (s.next >= s.stop_at) {
    s.done = true;
    return Status::OK();
  }
  size_t n = 0;
  KAPPA_ASSIGN_OR_RETURN(auto r, s.reader->next_many(recs.data(), kMany, &n));
  if (int64_t from, to; s.reader->take_removed_gap(&from, &to)) {
    say(where(s.partition) + ": offsets " + std::to_string(from) + ".." + std::to_string(to - 1) +
        " were removed by retention before job " + group + " read them; continuing at " + std::to_string(to));
    s.next = to;
    s.dirty = true;
  }
  if (r == partition_reader::status::end) {
    if (!o.follow) s.done = true;
    return Status::OK();
  }
  if (r == partition_reader::status::corrupt) {
    const auto& c = s.reader->corruption();
    return Status::Corruption("cannot read offset " + std::to_string(c.offset) + " of " + where(s.partition) +
                              ", segment " + c.segment + ", position " + std::to_string(c.position) + ": " + c.why +
                              "; run `kappa verify " + input.name + "` for details");
  }
  *progressed = true;
  // A two-stage pipeline of cache hints: a record's key slot starts
  // loading kSlotAhead records before it is fed, its window and counts
  // kStateAhead records before (an event otherwise waits for both).
  constexpr size_t kSlotAhead = 16, kStateAhead = 8;
  for (size_t j = 0; j < std::min(n, kSlotAhead); j++)
    if (!recs[j].value.is_null()) s.task->prefetch_key(recs[j].value.view());
  for (size_t j = 0; j < std::min(n, kStateAhead); j++)
    if (!recs[j].value.is_null()) s.task->prefetch_state(recs[j].value.view());
  size_t i = 0;
  for (; i < n; i++) {
    const record_view& rec = recs[i];
    if (rec.offset >= s.stop_at) {
      s.done = true;
      break;
    }
    if (i + kSlotAhead < n && !recs[i + kSlotAhead].value.is_null())
      s.task->prefetch_key(recs[i + kSlotAhead].value.view());
    if (i + kStateAhead < n && !recs[i + kStateAhead].value.is_null())
      s.task->prefetch_state(recs[i + kStateAhead].value.view());
    s.current = &rec;
    s.task->before_record(rec.timestamp);
    if (rec.value.is_null())
      s.task->feed_null();
    else
      s.task->feed_hinted(rec.value.view());
    s.task->after_record(rec.timestamp);
    s.next = rec.offset + 1;
    if (!s.error.ok()) return s.error;
  }
  s.current = nullptr;
  s.dirty = true;
  s.processed.fetch_add(i, std::memory_order_relaxed);
  return Status::OK();
}

Status session_job::impl::work(const std::vector<partition_run*>& mine) {
  log_watcher watcher;
  if (o.follow)
    for (auto* s : mine) KAPPA_RETURN_IF_ERROR(watcher.add(dd->partition_dir(input.name, s->partition)));
  for (;;) {
    bool progressed = false, all_done = true;
    for (auto* s : mine) {
      if (s->done) continue;
      all_done = false;
      for (int turn = 0; turn < 16 && !s->done && !stop->load(std::memory_order_relaxed); turn++) {
        bool p = false;
        KAPPA_RETURN_IF_ERROR(step(*s, &p));
        if (!p) break;
        progressed = true;
      }
      publish(*s);
      if (s->dirty && wall_clock_ms() - s->last_checkpoint_ms >= o.checkpoint_interval_ms)
        KAPPA_RETURN_IF_ERROR(checkpoint(*s));
    }
    if (all_done || stop->load(std::memory_order_relaxed)) break;
    if (!progressed) {
      // Caught up: make what was produced visible and durable, note the
      // lag, and sleep until something is appended.
      bool caught_up = true;
      for (auto* s : mine) {
        if (auto end = s->reader->log_end_offset(); end.ok()) s->known_end = end.value();
        KAPPA_RETURN_IF_ERROR(advance_idle(*s));
        if (s->dirty) KAPPA_RETURN_IF_ERROR(checkpoint(*s));
        publish(*s);
        if (s->next >= s->known_end) s->caught_up.store(true, std::memory_order_relaxed);
        caught_up &= s->next >= s->known_end;
      }
      if (o.until_caught_up && caught_up) break;
      if (o.follow) KAPPA_RETURN_IF_ERROR(watcher.wait(200));
    }
  }
  // The end of this run. A finite replay that reached the end of its input
  // (not one asked to stop) fires what is still open.
  for (auto* s : mine) {
    if (auto end = s->reader->log_end_offset(); end.ok()) s->known_end = end.value();
    if (o.flush_at_end && !o.follow && s->done && !stop->load(std::memory_order_relaxed)) {
      s->current = nullptr;
      s->task->finish();
      KAPPA_RETURN_IF_ERROR(s->error);
      s->dirty = true;
    } else {
      KAPPA_RETURN_IF_ERROR(advance_idle(*s));  // unless records are left: a run stopped mid-input
    }
    if (s->dirty || s->next != s->cp.input_next) KAPPA_RETURN_IF_ERROR(checkpoint(*s));
    publish(*s);
    if (s->next >= s->known_end) s->caught_up.store(true, std::memory_order_relaxed);
  }
  return Status::OK();
}

Status session_job::run() {
  impl& m = *impl_;
  size_t n = std::min(m.threads(), m.parts.size());
  std::vector<std::vector<partition_run*>> shares(n);
  for (size_t i = 0; i < m.parts.size(); i++) shares[i % n].push_back(m.parts[i].get());
  auto worker = [&m](const std::vector<partition_run*>* mine) {
    Status st = m.work(*mine);
    if (!st.ok()) m.fail(st);
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; i++) threads.emplace_back(worker, &shares[i]);
  worker(&shares[0]);
  for (auto& t : threads) t.join();
  std::lock_guard<std::mutex> g(m.error_mu);
  return m.first_error;
}

session_job_stats session_job::stats() const {
  session_job_stats st;
  st.checkpoints = impl_->checkpoints.load(std::memory_order_relaxed);
  bool first = true;
  for (const auto& s : impl_->parts) {
    st.events += s->events.load(std::memory_order_relaxed);
    st.sessions += s->sessions.load(std::memory_order_relaxed);
    st.late += s->late_n.load(std::memory_order_relaxed);
    st.malformed += s->malformed.load(std::memory_order_relaxed);
    st.open_sessions += s->open_sessions.load(std::memory_order_relaxed);
    st.lag += s->lag.load(std::memory_order_relaxed);
    st.processed_this_run += s->processed.load(std::memory_order_relaxed);
    st.caught_up = (first || st.caught_up) && s->caught_up.load(std::memory_order_relaxed);
    int64_t wm = s->watermark.load(std::memory_order_relaxed);
    st.min_watermark = first ? wm : std::min(st.min_watermark, wm);
    first = false;
  }
  return st;
}

}  // namespace kappa
