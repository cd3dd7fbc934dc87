// kappa topic create|list|describe|alter|delete
#include <cstdio>

#include <sys/stat.h>
#include "adapters/record_formatter.h"
#include "cli/cli_common.h"
#include "kappa/catalog.h"

#include "io/file.h"
#include "log/segment.h"
#include "log/topic_name.h"

namespace kappa::cli {
namespace {

struct partition_stats {
  int32_t partition;
  int64_t start = 0, end = 0, oldest = -1, newest = -1;
  size_t segments = 0;
  uint64_t bytes = 0;
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
  std::string dir = dd.partition_dir(t.name, p);
  KAPPA_ASSIGN_OR_RETURN(auto bases, list_segments(dir));
  s.segments = bases.size();
  KAPPA_ASSIGN_OR_RETURN(auto names, list_dir(dir));
  for (const auto& n : names) {
    struct stat st;
    if (::stat((dir + "/" + n).c_str(), &st) == 0 && n.size() > 4 && n.compare(n.size() - 4, 4, ".log") == 0)
      s.bytes += static_cast<uint64_t>(st.st_size);
  }
  return s;
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
      auto t = dd->topic(name);
      if (!t.ok()) return fail(t.status());
      std::vector<partition_stats> stats;
      for (int32_t p = 0; p < t->partitions; p++) {
        auto s = stats_of(*dd, *t, p);
        if (!s.ok()) return fail(s.status());
        stats.push_back(s.value());
      }
      if (json) {
        std::string s = "{\"name\":";
        append_json_string(s, name);
        s += ",\"config\":" + config_json(*t) + ",\"partitions\":[";
        for (size_t i = 0; i < stats.size(); i++) {
          const auto& p = stats[i];
          char b[512];
          std::snprintf(b, sizeof b,
                        "%s{\"partition\":%d,\"log_start_offset\":%lld,\"log_end_offset\":%lld,\"segments\":%zu,"
                        "\"bytes\":%llu,\"oldest_timestamp\":%lld,\"newest_timestamp\":%lld}",
                        i ? "," : "", p.partition, (long long)p.start, (long long)p.end, p.segments,
                        (unsigned long long)p.bytes, (long long)p.oldest, (long long)p.newest);
          s += b;
        }
        std::printf("%s]}\n", s.c_str());
        return kExitOk;
      }
      std::printf("topic %s, %d partition(s)\nconfig:\n", name.c_str(), t->partitions);
      for (const auto& [k, v] : t->config.effective())
        std::printf("  %s=%s%s\n", k.c_str(), v.c_str(), t->config.explicit_settings().count(k) ? "" : " (default)");
      std::printf("%-9s %16s %16s %8s %14s %15s %15s\n", "partition", "log_start_offset", "log_end_offset", "segments",
                  "bytes", "oldest_ts", "newest_ts");
      for (const auto& p : stats)
        std::printf("%-9d %16lld %16lld %8zu %14llu %15lld %15lld\n", p.partition, (long long)p.start, (long long)p.end,
                    p.segments, (unsigned long long)p.bytes, (long long)p.oldest, (long long)p.newest);
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
      st = dd->catalog()->update_topic(t.value());
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
