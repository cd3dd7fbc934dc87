// kappa consume: records -> stdout, from any position, optionally following
// the log and committing a consumer group's offsets.
#include <csignal>
#include <cstdio>
#include <map>

#include "adapters/output_buffer.h"
#include "adapters/progress.h"
#include "adapters/record_formatter.h"
#include "cli/cli_common.h"
#include "kappa/catalog.h"
#include "log/topic_name.h"

namespace kappa::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct consume_opts {
  std::string topic, from = "earliest", group, format;
  int32_t partition = -1;
  int64_t count = -1;
  bool follow = false, json = false, skip_corrupt = false, archive = false;
};

struct source {
  int32_t partition;
  std::unique_ptr<partition_reader> reader;
  int64_t stop_at = INT64_MAX;  // end of the log as of start, unless following
  int64_t printed_next = -1;    // the position to commit: after the last record printed
  bool done = false;
};

constexpr int64_t kCommitIntervalMs = 5000;

int consume(const consume_opts& o, context& ctx) {
  Status st = validate_topic_name(o.topic);
  if (!st.ok()) return fail(st);
  auto from = parse_start(o.from, "--from");
  if (!from.ok()) return fail(from.status());
  auto fmt = record_formatter::make(o.json             ? record_formatter::mode::json
                                    : o.format.empty() ? record_formatter::mode::value_line
                                                       : record_formatter::mode::format,
                                    o.format);
  if (!fmt.ok()) return fail(fmt.status());
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  // An alias resolves here, once: the records, offsets and commits are
  // those of the topic it points to now.
  auto t = dd->resolve_topic(o.topic);
  if (!t.ok()) return fail(t.status());
  const std::string& topic = t->name;
  if (o.partition >= t->partitions)
    return usage_error("--partition " + std::to_string(o.partition) + " is out of range: topic " + topic + " has " +
                       std::to_string(t->partitions) + " partition(s)");
  std::map<int32_t, int64_t> committed;
  if (!o.group.empty() && dd->catalog()) {
    auto offs = dd->catalog()->group_offsets(o.group);
    if (!offs.ok()) return fail(offs.status());
    for (const auto& g : offs.value())
      if (g.topic == topic) committed[g.partition] = g.offset;
    if (topic != o.topic) {
      // The alias was switched since this group last read through it: say
      // where it was and where it goes on now, rather than skip or repeat
      // silently.
      auto a = dd->catalog()->get_alias(o.topic);
      int64_t here = -1, there = -1;  // the group's last commit times in the new and the previous topic
      for (const auto& g : offs.value()) {
        if (g.topic == topic) here = std::max(here, g.commit_time_ms);
        if (a.ok() && !a->previous.empty() && g.topic == a->previous) there = std::max(there, g.commit_time_ms);
      }
      if (there >= 0 && here < 0)
        note("alias " + o.topic + " now points to " + topic + " (it pointed to " + a->previous + ", where group " +
             o.group + " has committed offsets); group " + o.group + " has none for " + topic +
             ", so it starts there from --from " + o.from + ": " + topic +
             " holds another version of the same results, so what the group read in " + a->previous +
             " comes again as " + topic + " has it");
      else if (there > here)
        note("alias " + o.topic + " now points to " + topic + " (it pointed to " + a->previous + ", where group " +
             o.group + " read last); group " + o.group + " resumes " + topic +
             " at its own offsets, committed when it last read there, so what it read in " + a->previous +
             " since then comes again as " + topic + " has it");
    }
  }

  std::vector<source> srcs;
  log_watcher watcher;
  for (int32_t p = 0; p < t->partitions; p++) {
    if (o.partition >= 0 && p != o.partition) continue;
    // A replay to stdout is this process's one busy thread: let a second
    // one map the log's pages in ahead of it.
    auto r = dd->open_reader(t.value(), p, o.archive, /*prefetch=*/true);
    if (!r.ok()) return fail(r.status());
    source s{p, std::move(r.value())};
    auto end = s.reader->log_end_offset();
    if (!end.ok()) return fail(end.status());
    if (!o.follow) s.stop_at = end.value();
    const auto& f = from.value();
    int64_t start = s.reader->log_start_offset();
    auto c = committed.find(p);
    if (c != committed.end() && c->second < start) {
      // Kafka's auto.offset.reset=earliest, said out loud.
      note("group " + o.group + "'s committed offset " + std::to_string(c->second) + " for " +
           partition_name(topic, p) + " is below the log start offset " + std::to_string(start) +
           " (older records were removed by retention); resuming at " + std::to_string(start));
      c->second = start;
    }
    if (c == committed.end() && f.k == start_spec::offset && f.v < start) {
      std::string hint = "use --from earliest";
      if (!o.archive && !dd->archive_dir(t.value(), p).empty()) {
        auto ar = dd->open_reader(t.value(), p, true);
        if (ar.ok() && ar.value()->log_start_offset() <= f.v)
          hint = "add --archive to read it from the archive tier, or use --from earliest";
      }
      return fail(Status::NotFound("offset " + std::to_string(f.v) + " of " + partition_name(topic, p) +
                                   " is below its log start offset " + std::to_string(start) +
                                   (o.archive ? " (including the archive tier)"
                                    : dd->archive_dir(t.value(), p).empty()
                                        ? " (older records were removed by retention)"
                                        : " (older records were moved to the archive tier)") +
                                   "; " + hint));
    }
    if (c != committed.end())
      st = s.reader->seek(c->second);
    else if (f.k == start_spec::earliest)
      st = s.reader->seek(s.reader->log_start_offset());
    else if (f.k == start_spec::latest)
      st = s.reader->seek(end.value());
    else if (f.k == start_spec::offset)
      st = s.reader->seek(f.v);
    else if (f.k == start_spec::from_end)
      st = s.reader->seek(std::max(s.reader->log_start_offset(), end.value() - f.v));
    else
      st = s.reader->seek_to_timestamp(f.v);
    if (!st.ok()) return fail(st);
    // Like Kafka's auto-commit, a group commits its position even when
    // nothing was printed (so --from latest sticks).
    if (f.k != start_spec::timestamp || committed.count(p)) s.printed_next = s.reader->position();
    if (o.follow) {
      st = watcher.add(dd->partition_dir(topic, p));
      if (!st.ok()) return fail(st);
    }
    srcs.push_back(std::move(s));
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  output_buffer out(1);
  int64_t printed = 0, last_commit = now_ms();
  auto commit = [&]() -> Status {
    if (o.group.empty()) return Status::OK();
    std::vector<std::pair<int32_t, int64_t>> offs;
    for (const auto& s : srcs)
      if (s.printed_next >= 0) offs.push_back({s.partition, s.printed_next});
    if (offs.empty()) return Status::OK();
    KAPPA_RETURN_IF_ERROR(dd->ensure_created());
    return dd->catalog()->commit_offsets(o.group, topic, offs);
  };
  progress prog;
  auto finish = [&](int code) {
    prog.done();
    bool flushed = out.flush();
    if (flushed || out.error() == EPIPE) {
      Status cs = flushed ? commit() : Status::OK();
      if (!cs.ok()) return fail(cs);
    }
    if (!flushed && out.error() != EPIPE) return fail(Status::FromErrno("writing stdout", out.error()));
    return code;
  };

  constexpr size_t kMany = 512;
  std::vector<record_view> recs(kMany);
  std::vector<int64_t> offsets(kMany);
  std::vector<bytes_view> values(kMany);
  const bool plain = !o.json && o.format.empty();
  bool alias_moved = false;
  int64_t last_alias_check = now_ms();
  for (;;) {
    bool progressed = false, all_done = true;
    for (auto& s : srcs) {
      if (s.done) continue;
      all_done = false;
      for (int turn = 0; turn < 64 && !s.done; turn++) {
        if (s.reader->position() >= s.stop_at) {
          s.done = true;
          break;
        }
        size_t n = 0;
        auto r = plain ? s.reader->next_values(offsets.data(), values.data(), kMany, &n)
                       : s.reader->next_many(recs.data(), kMany, &n);
        if (!r.ok()) return finish(fail(r.status()));
        if (int64_t from, to; s.reader->take_removed_gap(&from, &to))
          note(partition_name(topic, s.partition) + ": offsets " + std::to_string(from) + ".." +
               std::to_string(to - 1) + " were removed by retention before they were read; continuing at " +
               std::to_string(to));
        if (r.value() == partition_reader::status::end) {
          if (!o.follow) s.done = true;
          break;
        }
        if (r.value() == partition_reader::status::corrupt) {
          const auto& c = s.reader->corruption();
          std::string where = partition_name(topic, s.partition) + ", segment " + c.segment + ", position " +
                              std::to_string(c.position);
          if (!o.skip_corrupt) {
            out.flush();
            fail(Status::Corruption("cannot read offset " + std::to_string(c.offset) + " of " + where + ": " + c.why +
                                    "; run `kappa verify " + topic +
                                    "` for details, or consume with --skip-corrupt to step over the damage"));
            return finish(kExitRuntime);
          }
          auto next = s.reader->skip_corrupt();
          if (!next.ok()) return finish(fail(next.status()));
          note("skipped damaged data in " + where + " (" + c.why + "): offsets " + std::to_string(c.offset) + ".." +
               (next.value() > c.offset ? std::to_string(next.value() - 1) : std::string("end of segment")));
          progressed = true;
          continue;
        }
        progressed = true;
        prog.update(static_cast<uint64_t>(printed), 0);
        if (plain) {
          // The hot path: values and newlines, nothing else to decode. The
          // stop offset and --count cut the batch once, not per record.
          size_t m = n;
          while (m > 0 && offsets[m - 1] >= s.stop_at) m--;
          if (o.count >= 0) m = std::min(m, static_cast<size_t>(o.count - printed));
          for (size_t i = 0; i < m; i++) out.put_padded(values[i].view(), '\n');
          if (m > 0) s.printed_next = offsets[m - 1] + 1;
          printed += static_cast<int64_t>(m);
          if (printed == o.count) return finish(kExitOk);
          if (m < n) s.done = true;
          continue;
        }
        for (size_t i = 0; i < n; i++) {
          const record_view& rec = recs[i];
          if (rec.offset >= s.stop_at) {
            s.done = true;
            break;
          }
          fmt->write(out, topic, s.partition, rec);
          s.printed_next = rec.offset + 1;
          if (++printed == o.count) return finish(kExitOk);
        }
      }
      if (out.failed()) return finish(out.error() == EPIPE ? kExitOk : kExitRuntime);
    }
    if (all_done || g_stop) return finish(kExitOk);
    // Commit every few seconds (Kafka's auto-commit), caught up or not; what
    // is committed has been written to stdout first.
    if (!o.group.empty() && now_ms() - last_commit >= kCommitIntervalMs) {
      if (!out.flush()) return finish(out.error() == EPIPE ? kExitOk : kExitRuntime);
      Status cs = commit();
      if (!cs.ok()) return fail(cs);
      last_commit = now_ms();
    }
    if (!progressed) {
      // Caught up: show what we have and sleep until something is appended.
      if (!out.flush()) return finish(out.error() == EPIPE ? kExitOk : kExitRuntime);
      if (o.follow) {
        Status ws = watcher.wait(1000);
        if (!ws.ok()) return finish(fail(ws));
        // Aliases resolve at open: a follower stays on its topic, but says
        // once that readers opening the alias now get another one.
        if (topic != o.topic && !alias_moved && now_ms() - last_alias_check >= 1000) {
          last_alias_check = now_ms();
          if (auto a = dd->catalog()->get_alias(o.topic); a.ok() && a->topic != topic) {
            alias_moved = true;
            note("alias " + o.topic + " now points to " + a->topic + "; this consumer goes on reading " + topic +
                 " (aliases are resolved when a reader opens them: restart it to read " + a->topic + ")");
          }
        }
      }
    }
  }
}

}  // namespace

void add_consume(CLI::App& app, context& ctx) {
  static consume_opts o;
  auto* cmd = app.add_subcommand("consume", "print a topic's records to stdout");
  cmd->add_option("topic", o.topic, "topic (or alias) to read")->required();
  cmd->add_option("--from", o.from, "start: earliest, latest, OFFSET, -N (N before the end) or @TIMESTAMP_MS");
  cmd->add_option("--partition", o.partition, "read only this partition")->check(CLI::Range(0, INT32_MAX));
  cmd->add_option("--group", o.group, "consumer group: start from its committed offsets, commit what is printed");
  cmd->add_option("--count", o.count, "exit after printing N records")->check(CLI::Range(int64_t{1}, INT64_MAX));
  cmd->add_flag("--follow", o.follow, "wait for new records instead of stopping at the end");
  auto* f = cmd->add_option("-f,--format", o.format, "kcat format: %t %p %o %k %s %T %K %S %h, \\n \\t");
  cmd->add_flag("--json", o.json, "one JSON object per record")->excludes(f);
  cmd->add_flag("--skip-corrupt", o.skip_corrupt, "step over damaged batches, reporting the skipped offsets");
  cmd->add_flag("--archive", o.archive,
                "read the topic's archived segments (archive.dir) first, then on into the live log");
  cmd->callback([&] { ctx.run = [&] { return consume(o, ctx); }; });
}

}  // namespace kappa::cli
