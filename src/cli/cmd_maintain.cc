// kappa maintain [TOPIC...]: retention, compaction and the disk budget, now.
#include <cstdio>

#include "adapters/record_formatter.h"
#include "cli/cli_common.h"
#include "kappa/catalog.h"
#include "kappa/retention.h"
#include "log/segment.h"

namespace kappa::cli {
namespace {

struct maintain_opts {
  std::vector<std::string> topics;
  bool json = false;
};

int maintain(const maintain_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  // Every named topic must exist before anything is touched.
  std::vector<topic_meta> topics;
  for (const auto& name : o.topics) {
    auto t = dd->topic(name);
    if (!t.ok()) return fail(t.status());
    topics.push_back(t.value());
  }
  if (o.topics.empty() && dd->catalog()) {
    auto all = dd->catalog()->list_topics();
    if (!all.ok()) return fail(all.status());
    topics = std::move(all.value());
  }
  // Retention and compaction per partition; a partition that fails is
  // reported and the others go on.
  struct row {
    std::string topic;
    int32_t partition;
    maintenance_report r;
    bool failed = false;
  };
  std::vector<row> rows;
  int rc_all = kExitOk;
  for (const auto& t : topics) {
    for (int32_t p = 0; p < t.partitions; p++) {
      auto r = maintain_partition(dd->partition_dir(t.name, p), partition_name(t.name, p), dd->options(t, p), now_ms());
      if (!r.ok()) {
        rc_all = std::max(rc_all, fail(r.status()));
        rows.push_back({t.name, p, {}, true});
        continue;
      }
      for (const auto& n : r->notes) note(n);
      rows.push_back({t.name, p, std::move(r.value())});
    }
  }
  // Then the disk budget; what it removed shows in the partitions' rows.
  auto budget = dd->enforce_budget(true);
  if (!budget.ok()) return fail(budget.status());
  const auto& b = budget.value();
  for (const auto& rm : b.removals)
    for (auto& rw : rows)
      if (rw.topic == rm.topic && rw.partition == rm.partition) {
        (rm.archived ? rw.r.segments_archived : rw.r.segments_removed) += rm.segments;
        (rm.archived ? rw.r.bytes_archived : rw.r.bytes_removed) += rm.bytes;
        auto bases = list_segments(dd->partition_dir(rw.topic, rw.partition));
        if (bases.ok() && !bases->empty()) rw.r.log_start_offset = bases->front();
      }

  std::string json = "{\"partitions\":[";
  if (!o.json)
    std::printf("%-24s %9s %16s %14s %17s %14s %18s %17s %16s\n", "topic", "partition", "segments_removed",
                "bytes_removed", "segments_archived", "bytes_archived", "segments_compacted", "records_compacted",
                "log_start_offset");
  bool first = true;
  for (const auto& rw : rows) {
    if (rw.failed) continue;
    const auto& r = rw.r;
    if (o.json) {
      json += first ? "{\"topic\":" : ",{\"topic\":";
      append_json_string(json, rw.topic);
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    ",\"partition\":%d,\"segments_removed\":%d,\"bytes_removed\":%llu,\"segments_archived\":%d,"
                    "\"bytes_archived\":%llu,\"segments_compacted\":%d,\"records_compacted\":%lld,"
                    "\"bytes_compacted\":%llu,\"log_start_offset\":%lld}",
                    rw.partition, r.segments_removed, (unsigned long long)r.bytes_removed, r.segments_archived,
                    (unsigned long long)r.bytes_archived, r.segments_cleaned, (long long)r.records_cleaned,
                    (unsigned long long)r.bytes_cleaned, (long long)r.log_start_offset);
      json += buf;
      first = false;
    } else {
      std::printf("%-24s %9d %16d %14llu %17d %14llu %18d %17lld %16lld\n", rw.topic.c_str(), rw.partition,
                  r.segments_removed, (unsigned long long)r.bytes_removed, r.segments_archived,
                  (unsigned long long)r.bytes_archived, r.segments_cleaned, (long long)r.records_cleaned,
                  (long long)r.log_start_offset);
    }
  }
  if (o.json) {
    char s[256];
    std::snprintf(s, sizeof s, "],\"budget\":{\"max_bytes\":%lld,\"bytes_before\":%llu,\"bytes_after\":%llu,"
                  "\"segments_retired\":%d}}", (long long)b.max_bytes, (unsigned long long)b.bytes_before,
                  (unsigned long long)b.bytes_after, b.segments_retired);
    std::printf("%s%s\n", json.c_str(), s);
  } else if (b.max_bytes >= 0) {
    std::printf("data dir budget max.bytes=%lld: %llu bytes before, %llu after, %d segment(s) retired\n",
                (long long)b.max_bytes, (unsigned long long)b.bytes_before, (unsigned long long)b.bytes_after,
                b.segments_retired);
  }
  if (b.max_bytes >= 0 && b.bytes_after > static_cast<uint64_t>(b.max_bytes))
    note("the data dir is still over its budget: the rest is in active segments (their writers roll them early "
         "while they run) or in compacted topics, which the budget does not trim");
  return rc_all;
}

}  // namespace

void add_maintain(CLI::App& app, context& ctx) {
  static maintain_opts o;
  auto* cmd = app.add_subcommand(
      "maintain", "apply retention, compaction and the data dir's disk budget now; print what was removed");
  cmd->add_option("topics", o.topics, "topics (default: all)");
  cmd->add_flag("--json", o.json, "machine-readable output");
  cmd->callback([&] { ctx.run = [&] { return maintain(o, ctx); }; });
}

}  // namespace kappa::cli
