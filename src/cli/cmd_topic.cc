// kappa topic create|list|describe|alter|delete
#include <cstdio>

#include <sys/stat.h>
#include "adapters/record_formatter.h"
#include "cli/cli_common.h"
#include "kappa/catalog.h"
#include "kappa/retention.h"

#include "io/file.h"
#include "io/io_backend.h"
#include "log/segment.h"
#include "log/topic_name.h"

namespace kappa::cli {
namespace {

struct partition_stats {
  int32_t partition;
  int64_t start = 0, end = 0, oldest = -1, newest = -1;
  size_t segments = 0;
  uint64_t bytes = 0;
  // The archive tier (archive.dir): -1 offsets when nothing is archived.
  size_t archive_segments = 0;
  uint64_t archive_bytes = 0;
  int64_t archive_start = -1, archive_end = -1;
  // Retention sizing: the ingest rate over the retained data, and the time
  // span retention keeps at that rate (-1 = unbounded or unknown).
  double records_per_sec = 0, bytes_per_sec = 0;
  int64_t retained_span_ms = 0, retention_covers_ms = -1;
};

Result<partition_stats> stats_of(data_dir& dd, const topic_meta& t, int32_t p) {
  partition_stats s{p};
  KAPPA_ASSIGN_OR_RETURN(auto r, dd.open_reader(t, p));
  s.start = r->log_start_offset();
  KAPPA_ASSIGN_OR_RETURN(s.end, r->log_end_offset());
  KAPPA_ASSIGN_OR_RETURN(s.newest, r->newest_timestamp());
  record_view rec;
  if (s.end > s.start) {
    KAPPA_ASSIGN_OR_RETURN(auto st, r->next(&rec));
    if (st == partition_reader::status::record) s.oldest = rec.timestamp;
  }
  KAPPA_ASSIGN_OR_RETURN(auto segs, stat_segments(dd.partition_dir(t.name, p)));
  s.segments = segs.size();
  for (const auto& seg : segs) s.bytes += seg.log_bytes;

  std::string archive = dd.archive_dir(t, p);
  if (!archive.empty()) {
    KAPPA_ASSIGN_OR_RETURN(auto arch, stat_segments(archive));
    // A segment caught in the middle of its move is counted where it is read: live.
    while (!arch.empty() && !segs.empty() && arch.back().base_offset >= segs.front().base_offset) arch.pop_back();
    s.archive_segments = arch.size();
    for (const auto& seg : arch) s.archive_bytes += seg.log_bytes;
    if (!arch.empty()) {
      s.archive_start = arch.front().base_offset;
      auto io = make_io_backend();
      KAPPA_ASSIGN_OR_RETURN(s.archive_end, segment_next_offset(*io, archive, arch.back().base_offset,
                                                                readable_batch_limit(t.config.partition().max_message_bytes)));
    }
  }

  if (s.oldest >= 0 && s.newest > s.oldest) {
    s.retained_span_ms = s.newest - s.oldest;
    double secs = static_cast<double>(s.retained_span_ms) / 1000.0;
    s.records_per_sec = static_cast<double>(s.end - s.start) / secs;
    s.bytes_per_sec = static_cast<double>(s.bytes) / secs;
  }
  partition_options o = t.config.partition();
  if (o.cleanup_delete) {
    if (o.retention_ms >= 0) s.retention_covers_ms = o.retention_ms;
    if (o.retention_bytes >= 0 && s.bytes_per_sec > 0) {
      auto by_size = static_cast<int64_t>(static_cast<double>(o.retention_bytes) / s.bytes_per_sec * 1000.0);
      if (s.retention_covers_ms < 0 || by_size < s.retention_covers_ms) s.retention_covers_ms = by_size;
    }
  }
  return s;
}

std::string duration_text(int64_t ms) {
  if (ms < 0) return "forever";
  char b[64];
  if (ms >= 86400000)
    std::snprintf(b, sizeof b, "%.1f days", static_cast<double>(ms) / 86400000.0);
  else if (ms >= 3600000)
    std::snprintf(b, sizeof b, "%.1f hours", static_cast<double>(ms) / 3600000.0);
  else if (ms >= 1000)
    std::snprintf(b, sizeof b, "%.1f s", static_cast<double>(ms) / 1000.0);
  else
    std::snprintf(b, sizeof b, "%lld ms", static_cast<long long>(ms));
  return b;
}

std::string config_json(const topic_meta& t) {
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : t.config.effective()) {
    if (!first) s += ",";
    first = false;
    append_json_string(s, k);
    s += ":";
    append_json_string(s, v);
  }
  return s + "}";
}

Status parse_configs(const std::vector<std::string>& kvs, topic_meta* t) {
  for (const auto& kv : kvs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return Status::Invalid("--config takes key=value, got '" + kv + "'");
    std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    KAPPA_RETURN_IF_ERROR(validate_topic_config(k, v));
    t->config.set(k, v);
  }
  return Status::OK();
}

}  // namespace

void add_topic(CLI::App& app, context& ctx) {
  auto* topic = app.add_subcommand("topic", "create, list, describe, alter and delete topics");
  topic->require_subcommand(1);

  static std::string name;
  static int32_t partitions = 1;
  static std::vector<std::string> configs;
  static bool json = false;

  auto* create = topic->add_subcommand("create", "create a topic");
  create->add_option("name", name, "topic name: 1-249 of [A-Za-z0-9._-]")->required();
  create->add_option("--partitions", partitions, "number of partitions")->check(CLI::Range(1, 100000));
  create->add_option("--config", configs, "topic config key=value (Kafka's names), repeatable");
  create->callback([&] {
    ctx.run = [&] {
      topic_meta t;
      t.name = name;
      t.partitions = partitions;
      Status st = validate_topic_name(name);
      if (st.ok()) st = parse_configs(configs, &t);
      if (!st.ok()) return fail(st);
      int rc = 0;
      auto dd = ctx.open(true, &rc);
      if (!dd) return rc;
      st = dd->create_topic(t);
      if (!st.ok()) return fail(st);
      note("created topic " + name + " with " + std::to_string(partitions) + " partition(s)");
      return kExitOk;
    };
  });

  auto* list = topic->add_subcommand("list", "list topics");
  list->add_flag("--json", json, "machine-readable output");
  list->callback([&] {
    ctx.run = [&] {
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      std::vector<topic_meta> topics;
      if (dd->catalog()) {
        auto r = dd->catalog()->list_topics();
        if (!r.ok()) return fail(r.status());
        topics = std::move(r.value());
      }
      if (json) {
        std::string s = "[";
        for (size_t i = 0; i < topics.size(); i++) {
          s += i ? ",{\"name\":" : "{\"name\":";
          append_json_string(s, topics[i].name);
          s +=
              ",\"partitions\":" + std::to_string(topics[i].partitions) + ",\"config\":" + config_json(topics[i]) + "}";
        }
        std::printf("%s]\n", s.c_str());
      } else {
        for (const auto& t : topics) std::printf("%s\t%d partition(s)\n", t.name.c_str(), t.partitions);
      }
      return kExitOk;
    };
  });

  auto* describe = topic->add_subcommand("describe", "show a topic's configs and partitions");
  describe->add_option("name", name, "topic name")->required();
  describe->add_flag("--json", json, "machine-readable output");
  describe->callback([&] {
    ctx.run = [&] {
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      auto t = dd->resolve_topic(name);  // an alias describes the topic it points to
      if (!t.ok()) return fail(t.status());
      std::vector<partition_stats> stats;
      for (int32_t p = 0; p < t->partitions; p++) {
        auto s = stats_of(*dd, *t, p);
        if (!s.ok()) return fail(s.status());
        stats.push_back(s.value());
      }
      if (json) {
        std::string s = "{\"name\":";
        append_json_string(s, t->name);
        if (t->name != name) {
          s += ",\"alias\":";
          append_json_string(s, name);
        }
        s += ",\"config\":" + config_json(*t) + ",\"partitions\":[";
        for (size_t i = 0; i < stats.size(); i++) {
          const auto& p = stats[i];
          char b[1024];
          std::snprintf(b, sizeof b,
                        "%s{\"partition\":%d,\"log_start_offset\":%lld,\"log_end_offset\":%lld,\"segments\":%zu,"
                        "\"bytes\":%llu,\"oldest_timestamp\":%lld,\"newest_timestamp\":%lld,"
                        "\"archive_segments\":%zu,\"archive_bytes\":%llu,\"archive_start_offset\":%lld,"
                        "\"archive_end_offset\":%lld,\"ingest_records_per_sec\":%.3f,\"ingest_bytes_per_sec\":%.3f,"
                        "\"retained_span_ms\":%lld,\"retention_covers_ms\":%lld}",
                        i ? "," : "", p.partition, (long long)p.start, (long long)p.end, p.segments,
                        (unsigned long long)p.bytes, (long long)p.oldest, (long long)p.newest, p.archive_segments,
                        (unsigned long long)p.archive_bytes, (long long)p.archive_start, (long long)p.archive_end,
                        p.records_per_sec, p.bytes_per_sec, (long long)p.retained_span_ms,
                        (long long)p.retention_covers_ms);
          s += b;
        }
        std::printf("%s]}\n", s.c_str());
        return kExitOk;
      }
      std::printf("topic %s%s, %d partition(s)\nconfig:\n", t->name.c_str(),
                  t->name != name ? (" (alias " + name + ")").c_str() : "", t->partitions);
      for (const auto& [k, v] : t->config.effective())
        std::printf("  %s=%s%s\n", k.c_str(), v.c_str(), t->config.explicit_settings().count(k) ? "" : " (default)");
      std::printf("%-9s %16s %16s %8s %14s %15s %15s\n", "partition", "log_start_offset", "log_end_offset", "segments",
                  "bytes", "oldest_ts", "newest_ts");
      for (const auto& p : stats)
        std::printf("%-9d %16lld %16lld %8zu %14llu %15lld %15lld\n", p.partition, (long long)p.start, (long long)p.end,
                    p.segments, (unsigned long long)p.bytes, (long long)p.oldest, (long long)p.newest);
      for (const auto& p : stats) {
        if (p.archive_segments > 0)
          std::printf("partition %d archive: offsets %lld..%lld, %zu segment(s), %llu bytes\n", p.partition,
                      (long long)p.archive_start, (long long)p.archive_end - 1, p.archive_segments,
                      (unsigned long long)p.archive_bytes);
        partition_options po = t->config.partition();
        bool unknown = po.cleanup_delete && p.retention_covers_ms < 0 && po.retention_bytes >= 0;
        std::printf("partition %d retention: ingest %.1f records/s, %.0f bytes/s over %s of retained data; "
                    "retention keeps %s\n",
                    p.partition, p.records_per_sec, p.bytes_per_sec, duration_text(p.retained_span_ms).c_str(),
                    unknown ? "an unknown span (no ingest rate yet)" : duration_text(p.retention_covers_ms).c_str());
      }
      return kExitOk;
    };
  });

  auto* alter = topic->add_subcommand("alter", "change a topic's configs");
  alter->add_option("name", name, "topic name")->required();
  alter->add_option("--config", configs, "topic config key=value, repeatable")->required();
  alter->callback([&] {
    ctx.run = [&] {
      Status st = validate_topic_name(name);
      topic_meta probe;
      if (st.ok()) st = parse_configs(configs, &probe);
      if (!st.ok()) return fail(st);
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      auto t = dd->topic(name);
      if (!t.ok()) return fail(t.status());
      (void)parse_configs(configs, &t.value());
      st = dd->check_topic_config(t.value());
      if (st.ok()) st = dd->catalog()->update_topic(t.value());
      if (!st.ok()) return fail(st);
      note("updated topic " + name);
      return kExitOk;
    };
  });

  auto* del = topic->add_subcommand("delete", "delete a topic and its data");
  del->add_option("name", name, "topic name")->required();
  del->callback([&] {
    ctx.run = [&] {
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      Status st = dd->delete_topic(name);
      if (!st.ok()) return fail(st);
      note("deleted topic " + name);
      return kExitOk;
    };
  });
}

}  // namespace kappa::cli
