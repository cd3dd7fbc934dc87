// kappa produce: stdin lines -> records, durable when it exits 0.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "adapters/json_fields.h"
#include "adapters/line_reader.h"
#include "adapters/progress.h"
#include "cli/cli_common.h"
#include "kappa/catalog.h"
#include "kappa/mirror.h"
#include "log/compression.h"
#include "log/topic_name.h"
#include "util/murmur2.h"

namespace kappa::cli {
namespace {

struct produce_opts {
  std::string topic, key_delim, key_field, ts_field, on_error = "fail", compression = "none";
  int32_t partition = -1;
  bool null_empty = false, no_create = false;
  int64_t linger_ms = 5;
};

// Finds or (unless no_create) auto-creates a topic with default configs.
Result<topic_meta> topic_for_write(data_dir& dd, const std::string& name, bool no_create) {
  // A --from mirror's local topics hold what it pulled, and only that.
  KAPPA_ASSIGN_OR_RETURN(std::string owner, mirror::owner_of_local_topic(dd, name));
  if (!owner.empty())
    return Status::Busy("topic " + name + " belongs to mirror " + owner +
                           " (kappa mirror --from writes it with what it pulls); produce to another topic");
  auto t = dd.topic(name);
  if (t.ok() || !t.status().is_not_found()) return t;
  // Aliases are for readers: a writer names the topic itself.
  if (dd.catalog())
    if (auto a = dd.catalog()->get_alias(name); a.ok())
      return Status::Invalid("'" + name + "' is an alias (of topic " + a->topic +
                             "), and aliases are for readers; produce to the topic itself, e.g. kappa produce " +
                             a->topic);
  if (no_create)
    return Status::NotFound("topic '" + name + "' does not exist; create it with `kappa topic create " + name +
                            "` or drop --no-create");
  topic_meta m;
  m.name = name;
  Status st = dd.create_topic(m);
  if (!st.ok() && !st.is_exists()) return st;
  return dd.topic(name);
}

class producer {
 public:
  producer(const produce_opts& o, data_dir& dd, topic_meta t) : o_(o), dd_(dd), t_(std::move(t)) {}

  int run() {
    if (o_.partition >= t_.partitions)
      return usage_error("--partition " + std::to_string(o_.partition) + " is out of range: topic " + t_.name +
                         " has " + std::to_string(t_.partitions) + " partition(s)");
    if (o_.on_error.rfind("dead-letter:", 0) == 0) {
      auto dt = topic_for_write(dd_, o_.on_error.substr(12), false);
      if (!dt.ok()) return fail(dt.status());
      dlq_topic_ = dt.value();
    }
    appenders_.resize(static_cast<size_t>(t_.partitions));
    for (int32_t p = 0; p < t_.partitions; p++) {
      if (o_.partition >= 0 && p != o_.partition) continue;
      // Takes every lock now (a second writer fails at once); each
      // partition is recovered and opened on its first record.
      auto a = dd_.open_appender(t_, p, write_buffer_bytes(), compression());
      if (!a.ok()) return fail(a.status());
      appenders_[static_cast<size_t>(p)] = std::move(a.value());
    }
    if (!o_.ts_field.empty() && t_.config.log_append_time())
      note("topic " + t_.name +
           " has message.timestamp.type=LogAppendTime: its records are stamped with the append "
           "time, and --timestamp-field " +
           o_.ts_field + " is not used as their timestamp (each line is stored unchanged)");
    sticky_ = o_.partition >= 0 ? o_.partition : 0;
    sticky_batches_ = appenders_[static_cast<size_t>(sticky_)]->batches_closed();
    auto start = std::chrono::steady_clock::now();
    int rc = loop();
    if (rc != kExitOk) return rc;
    Status st = sync_all();
    if (!st.ok()) return storage_failed(0, st);
    prog_.done();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary(secs);
    return kExitOk;
  }

 private:
  int loop() {
    line_reader in(0, static_cast<size_t>(t_.config.get_int("max.message.bytes")));
    std::string_view line;
    using clock = line_reader::clock;
    auto deadline = clock::time_point::max();  // when the oldest unflushed record has waited linger.ms
    for (;;) {
      auto r = in.next(&line, deadline);
      if (r == line_reader::result::eof) return kExitOk;
      if (r == line_reader::result::timeout) {
        // Input went quiet: make what we have visible and durable.
        Status st = sync_all();
        if (!st.ok()) return storage_failed(0, st);
        deadline = clock::time_point::max();
        continue;
      }
      if (r == line_reader::result::error) {
        Status st = sync_all();
        return fail(Status::FromErrno("reading stdin", in.error()).with_context(st.ok() ? "" : st.message()));
      }
      if (r == line_reader::result::too_long) {
        int rc = bad_line(in.line_number(), "",
                          "line is longer than max.message.bytes (" + t_.config.get("max.message.bytes") + ")");
        if (rc != kExitOk) return rc;
        continue;
      }
      if ((lines_ & 255) == 0) now_ = now_ms();
      lines_++;
      int rc = one_line(in.line_number(), line);
      if (rc != kExitOk) return rc;
      if (deadline == clock::time_point::max()) deadline = clock::now() + std::chrono::milliseconds(o_.linger_ms);
      prog_.update(records_, in.bytes_read());
    }
  }

  int one_line(uint64_t line_no, std::string_view line) {
    bytes_view key = bytes_view::null();
    std::string_view value = line;
    int64_t ts = now_;
    std::string why;
    if (!o_.key_delim.empty()) {
      size_t at = line.find(o_.key_delim);
      if (at == std::string_view::npos)
        return bad_line(line_no, line, "no key delimiter '" + o_.key_delim + "' in the line");
      key = bytes_view::of(line.substr(0, at));
      value = line.substr(at + o_.key_delim.size());
    }
    if (!o_.key_field.empty() || !o_.ts_field.empty()) {
      if (!json_.parse(line, &why)) return bad_line(line_no, line, why);
      std::string_view k;
      if (!o_.key_field.empty()) {
        if (!json_.key(o_.key_field, &k, &why)) return bad_line(line_no, line, why);
        key = bytes_view::of(k);
      }
      if (!o_.ts_field.empty() && !json_.integer(o_.ts_field, &ts, &why)) return bad_line(line_no, line, why);
    }
    bytes_view v = (o_.null_empty && value.empty()) ? bytes_view::null() : bytes_view::of(value);
    int32_t p;
    if (o_.partition >= 0)
      p = o_.partition;
    else if (!key.is_null())
      p = kafka_partition_for_key(key.data, static_cast<size_t>(key.size), t_.partitions);
    else
      p = sticky_partition();
    auto& a = appenders_[static_cast<size_t>(p)];
    if (!a->is_open()) {
      Status st = a->open_now();
      if (!st.ok()) return fail(st);
      for (const auto& n : a->recovery_notes()) note(n);
      start_offsets_.push_back({p, a->next_offset()});
    }
    Status st = a->append(ts, key, v);
    if (!st.ok()) {
      if (st.is_invalid()) return bad_line(line_no, line, st.message());
      return storage_failed(line_no, st);
    }
    records_++;
    bytes_ += line.size() + 1;
    return kExitOk;
  }

  // Write buffers share a budget across the partitions this run may write
  // (like Kafka's buffer.memory), so memory stays bounded for wide topics.
  size_t write_buffer_bytes() const {
    constexpr size_t kBudget = 32u << 20;
    size_t writers = o_.partition >= 0 ? 1 : static_cast<size_t>(t_.partitions);
    return std::clamp<size_t>(kBudget / (2 * writers), 16u << 10, 512u << 10);
  }

  // -z: checked by the option parser, so always one of the names.
  codec compression() const {
    auto c = parse_codec(o_.compression);
    return c.ok() ? c.value() : codec::none;
  }

  // Kafka's sticky partitioner: keyless records go to one partition until
  // its batch closes, then to the next.
  int32_t sticky_partition() {
    auto& a = appenders_[static_cast<size_t>(sticky_)];
    if (a->batches_closed() != sticky_batches_) {
      sticky_ = (sticky_ + 1) % t_.partitions;
      sticky_batches_ = appenders_[static_cast<size_t>(sticky_)]->batches_closed();
    }
    return sticky_;
  }

  int bad_line(uint64_t line_no, std::string_view line, const std::string& why) {
    std::string where = "stdin line " + std::to_string(line_no);
    if (o_.on_error == "skip") {
      if (++skipped_ <= 10) note("skipped " + where + ": " + why);
      return kExitOk;
    }
    if (!dlq_topic_.name.empty()) {
      if (!dlq_) {
        auto a = dd_.open_appender(dlq_topic_, 0, 0, compression());
        if (!a.ok()) return fail(a.status());
        dlq_ = std::move(a.value());
      }
      std::string line_text = std::to_string(line_no);  // must outlive the append
      record_header h[2] = {{"kappa.error", bytes_view::of(why)}, {"kappa.line", bytes_view::of(line_text)}};
      Status st = dlq_->append(now_ms(), bytes_view::null(), bytes_view::of(line), h);
      if (!st.ok()) return fail(st);
      if (++dead_lettered_ <= 10) note("dead-lettered " + where + " to topic " + dlq_topic_.name + ": " + why);
      return kExitOk;
    }
    Status st = sync_all();
    prog_.done();
    std::fprintf(stderr, "kappa: error: %s: %s; the %llu record(s) before it are stored%s\n", where.c_str(),
                 why.c_str(), static_cast<unsigned long long>(records_),
                 " (fix the line, or use --on-error skip|dead-letter:TOPIC)");
    if (!st.ok()) return fail(st);
    return kExitRuntime;
  }

  // The log could not take a record or sync (a full disk, an I/O error):
  // say where input stopped (line 0: while syncing) and where each
  // partition's log now ends. Records written
  // before are made durable if the disk still allows; those synced before
  // (at the end of each --linger-ms pause) always are.
  int storage_failed(uint64_t line_no, const Status& st) {
    Status synced = sync_all();
    prog_.done();
    std::string ends;
    for (const auto& [p, first] : start_offsets_) {
      auto r = dd_.open_reader(t_, p);
      auto end = r.ok() ? r.value()->log_end_offset() : Result<int64_t>(r.status());
      if (end.ok()) ends += (ends.empty() ? "" : ", ") + std::to_string(p) + ":" + std::to_string(end.value());
    }
    std::string where = line_no > 0 ? " (reading stdin line " + std::to_string(line_no) + ")" : "";
    std::fprintf(stderr,
                 "kappa: error: %s%s; the log of topic %s keeps what was written before "
                 "[partition:end offset %s]%s\n",
                 st.message().c_str(), where.c_str(), t_.name.c_str(), ends.empty() ? "unknown" : ends.c_str(),
                 synced.ok() ? "" : "; records not yet synced when the error came may be lost");
    return kExitRuntime;
  }

  // Every partition written, and the dead-letter topic, durable with their
  // fdatasyncs in flight together (about one device flush for all).
  Status sync_all() {
    std::vector<partition_appender*> all;
    for (auto& a : appenders_) all.push_back(a.get());
    all.push_back(dlq_.get());
    return partition_appender::sync_all(all);
  }

  void summary(double secs) {
    std::string parts;
    std::sort(start_offsets_.begin(), start_offsets_.end());
    size_t shown = 0, written = 0;
    for (const auto& [p, first] : start_offsets_) {
      int64_t end = appenders_[static_cast<size_t>(p)]->next_offset();
      if (end == first) continue;
      written++;
      if (shown++ < 8)
        parts += (parts.empty() ? "" : ", ") + std::to_string(p) + ":" + std::to_string(first) + ".." +
                 std::to_string(end - 1);
    }
    if (written > 8) parts += ", ... (" + std::to_string(written) + " partitions)";
    std::fprintf(stderr,
                 "kappa: produced %llu records (%.1f MB) to topic %s [partition:offsets %s] in %.2fs (%.0f records/s)",
                 static_cast<unsigned long long>(records_), static_cast<double>(bytes_) / 1e6, t_.name.c_str(),
                 parts.empty() ? "none" : parts.c_str(), secs, secs > 0 ? static_cast<double>(records_) / secs : 0.0);
    if (skipped_) std::fprintf(stderr, ", skipped %llu bad line(s)", static_cast<unsigned long long>(skipped_));
    if (dead_lettered_)
      std::fprintf(stderr, ", %llu bad line(s) to %s", static_cast<unsigned long long>(dead_lettered_),
                   dlq_topic_.name.c_str());
    std::fprintf(stderr, "\n");
  }

  const produce_opts& o_;
  data_dir& dd_;
  topic_meta t_;
  topic_meta dlq_topic_;
  std::vector<std::unique_ptr<partition_appender>> appenders_;
  std::unique_ptr<partition_appender> dlq_;
  std::vector<std::pair<int32_t, int64_t>> start_offsets_;
  json_fields json_;
  progress prog_;
  int32_t sticky_ = 0;
  uint64_t sticky_batches_ = 0;
  uint64_t records_ = 0, bytes_ = 0, lines_ = 0, skipped_ = 0, dead_lettered_ = 0;
  int64_t now_ = now_ms();
};

}  // namespace

void add_produce(CLI::App& app, context& ctx) {
  static produce_opts o;
  auto* cmd = app.add_subcommand("produce", "append stdin lines to a topic as records");
  cmd->add_option("topic", o.topic, "topic (created with defaults if missing)")->required();
  auto* kd =
      cmd->add_option("-K,--key-delimiter", o.key_delim, "key is the text before the first DELIM, value the rest");
  cmd->add_option("--key-field", o.key_field, "key is this top-level JSON field of the line")->excludes(kd);
  cmd->add_option("--timestamp-field", o.ts_field, "record timestamp is this JSON field (integer ms), else wall clock");
  cmd->add_option("--partition", o.partition, "write every record to this partition")->check(CLI::Range(0, INT32_MAX));
  cmd->add_flag("-Z,--null-empty", o.null_empty, "an empty value is produced as null (a tombstone)");
  cmd->add_option("--on-error", o.on_error,
                  "a line that cannot supply its key or timestamp: fail|skip|dead-letter:TOPIC");
  cmd->add_option("--linger-ms", o.linger_ms, "longest a record waits for its batch when stdin is slow")
      ->check(CLI::Range(0, 3600000));
  cmd->add_flag("--no-create", o.no_create, "fail if the topic does not exist");
  cmd->add_option("-z,--compression", o.compression,
                  "compress each batch (as kcat -z): none|gzip|snappy|lz4|zstd; every reader of the log reads them")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}))
      ->capture_default_str();
  cmd->callback([&] {
    ctx.run = [&]() -> int {
      Status st = validate_topic_name(o.topic);
      if (!st.ok()) return fail(st);
      if (o.on_error != "fail" && o.on_error != "skip") {
        if (o.on_error.rfind("dead-letter:", 0) != 0)
          return usage_error("invalid --on-error value '" + o.on_error + "': expected fail, skip or dead-letter:TOPIC");
        st = validate_topic_name(o.on_error.substr(12));
        if (!st.ok()) return fail(st.with_context("--on-error dead-letter topic"));
      }
      int rc = 0;
      auto dd = ctx.open(true, &rc);
      if (!dd) return rc;
      auto t = topic_for_write(*dd, o.topic, o.no_create);
      if (!t.ok()) return fail(t.status());
      if (t->config.get("cleanup.policy").find("compact") != std::string::npos && o.key_delim.empty() &&
          o.key_field.empty())
        return fail(
            Status::Invalid("topic " + o.topic + " is compacted and refuses keyless records; give -K or --key-field"));
      if (o.on_error.rfind("dead-letter:", 0) == 0) {
        auto dlq = dd->topic(o.on_error.substr(12));
        if (dlq.ok() && dlq->config.get("cleanup.policy").find("compact") != std::string::npos)
          return fail(Status::Invalid("dead-letter topic " + dlq->name +
                                      " is compacted and refuses keyless records (dead-lettered lines have no key); "
                                      "use a topic with cleanup.policy=delete"));
      }
      producer pr(o, *dd, t.value());
      return pr.run();
    };
  });
}

}  // namespace kappa::cli
