#include "kappa/topic_config.h"

#include <charconv>
#include <cstdlib>

namespace kappa {

const std::vector<config_def>& topic_config_defs() {
  static const std::vector<config_def> defs = {
      {"archive.dir", "", "absolute path: segments leaving retention move there (empty = deleted)"},
      {"cleanup.policy", "delete", "delete, compact or compact,delete"},
      {"delete.retention.ms", "86400000", "how long tombstones survive compaction (ms)"},
      {"max.message.bytes", "1048588", "largest record batch (bytes)"},
      {"message.timestamp.type", "CreateTime",
       "CreateTime (records keep the writer's timestamps) or LogAppendTime (stamped with the append time)"},
      {"min.cleanable.dirty.ratio", "0.5", "dirty fraction that triggers compaction (0..1)"},
      {"min.compaction.lag.ms", "0", "records younger than this are not compacted (ms)"},
      {"retention.bytes", "-1", "partition size above which old segments go (-1 = none)"},
      {"retention.ms", "604800000", "age after which old segments go (-1 = forever)"},
      {"segment.bytes", "1073741824", "roll the active segment at this size"},
      {"segment.ms", "604800000", "roll the active segment after this time span (ms)"},
  };
  return defs;
}

static bool parse_i64(std::string_view s, int64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

Status validate_topic_config(std::string_view key, std::string_view value) {
  std::string k(key), v(value);
  auto bad = [&](const char* rule) {
    return Status::Invalid("invalid value '" + v + "' for config " + k + ": " + rule);
  };
  int64_t n = 0;
  if (k == "cleanup.policy") {
    if (v == "delete" || v == "compact" || v == "compact,delete" || v == "delete,compact") return Status::OK();
    return bad("expected delete, compact or compact,delete");
  }
  if (k == "min.cleanable.dirty.ratio") {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(d >= 0 && d <= 1)) return bad("expected a number from 0 to 1");
    return Status::OK();
  }
  if (k == "segment.bytes") {
    if (!parse_i64(v, &n) || n < 14 || n > INT32_MAX) return bad("expected an integer from 14 to 2147483647");
    return Status::OK();
  }
  if (k == "segment.ms") {
    if (!parse_i64(v, &n) || n < 1) return bad("expected an integer >= 1 (ms)");
    return Status::OK();
  }
  if (k == "max.message.bytes") {
    if (!parse_i64(v, &n) || n < 0 || n > INT32_MAX) return bad("expected an integer from 0 to 2147483647");
    return Status::OK();
  }
  if (k == "retention.ms" || k == "retention.bytes") {
    if (!parse_i64(v, &n) || n < -1) return bad("expected an integer >= -1 (-1 = unlimited)");
    return Status::OK();
  }
  if (k == "message.timestamp.type") {
    if (v == "CreateTime" || v == "LogAppendTime") return Status::OK();
    return bad("expected CreateTime or LogAppendTime");
  }
  if (k == "archive.dir") {
    if (!v.empty() && v[0] != '/') return bad("expected an absolute path (or empty for none)");
    if (v.find('\n') != std::string::npos) return bad("expected a path on one line");
    return Status::OK();
  }
  if (k == "delete.retention.ms" || k == "min.compaction.lag.ms") {
    if (!parse_i64(v, &n) || n < 0) return bad("expected an integer >= 0 (ms)");
    return Status::OK();
  }
  std::string known;
  for (const auto& d : topic_config_defs()) known += (known.empty() ? "" : ", ") + std::string(d.name);
  return Status::Invalid("unknown topic config '" + k + "'; known configs: " + known);
}

const std::vector<config_def>& data_dir_setting_defs() {
  static const std::vector<config_def> defs = {
      {"max.bytes", "-1",
       "disk budget for all topics' segments (bytes, -1 = none): past it the oldest sealed segments of delete-policy "
       "topics go first"},
      {"num.partitions", "1", "partitions of a topic created by a client's Produce or Metadata (Kafka's auto-create)"},
  };
  return defs;
}

Status validate_data_dir_setting(std::string_view key, std::string_view value) {
  std::string k(key), v(value);
  int64_t n = 0;
  if (k == "max.bytes") {
    if (!parse_i64(v, &n) || n < -1) return Status::Invalid("invalid value '" + v + "' for max.bytes: expected an integer >= -1 (bytes, -1 = no budget)");
    return Status::OK();
  }
  if (k == "num.partitions") {
    if (!parse_i64(v, &n) || n < 1 || n > 100000)
      return Status::Invalid("invalid value '" + v + "' for num.partitions: expected an integer from 1 to 100000");
    return Status::OK();
  }
  std::string msg = "unknown data-dir setting '";
  msg.append(k).append("'; known settings:");
  for (const auto& d : data_dir_setting_defs()) msg.append(" ").append(d.name);
  return Status::Invalid(msg);
}

const std::string& topic_config::get(const std::string& key) const {
  if (auto it = set_.find(key); it != set_.end()) return it->second;
  static std::map<std::string, std::string> defaults = [] {
    std::map<std::string, std::string> m;
    for (const auto& d : topic_config_defs()) m[d.name] = d.default_value;
    return m;
  }();
  static const std::string kEmpty;
  auto it = defaults.find(key);
  return it == defaults.end() ? kEmpty : it->second;
}

int64_t topic_config::get_int(const std::string& key) const {
  int64_t n = 0;
  parse_i64(get(key), &n);
  return n;
}

std::map<std::string, std::string> topic_config::effective() const {
  std::map<std::string, std::string> m;
  for (const auto& d : topic_config_defs()) m[d.name] = get(d.name);
  return m;
}

bool topic_config::log_append_time() const { return get("message.timestamp.type") == "LogAppendTime"; }

partition_options topic_config::partition() const {
  partition_options o;
  o.segment_bytes = static_cast<uint64_t>(get_int("segment.bytes"));
  o.segment_ms = get_int("segment.ms");
  o.max_message_bytes = static_cast<uint32_t>(get_int("max.message.bytes"));
  o.retention_ms = get_int("retention.ms");
  o.retention_bytes = get_int("retention.bytes");
  const std::string& policy = get("cleanup.policy");
  o.cleanup_delete = policy.find("delete") != std::string::npos;
  o.cleanup_compact = policy.find("compact") != std::string::npos;
  o.delete_retention_ms = get_int("delete.retention.ms");
  o.min_compaction_lag_ms = get_int("min.compaction.lag.ms");
  o.min_cleanable_dirty_ratio = std::strtod(get("min.cleanable.dirty.ratio").c_str(), nullptr);
  o.log_append_time = log_append_time();
  return o;
}

}  // namespace kappa
