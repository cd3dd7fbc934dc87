#include "broker/metrics.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "broker/group_coordinator.h"
#include "catalog/group_lag.h"
#include "kappa/catalog.h"
#include "kappa/log/format.h"
#include "log/record_batch.h"
#include "processor/job_status.h"
#include "util/clock.h"
#include "wire/api_versions.h"

namespace kappa::broker {

// ---- exposition

void exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += help;  // our constants: no backslash or newline to escape
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void exposition::start_sample(std::string_view name, labels l) {
  out_ += name;
  if (l.size() == 0) {
    out_ += ' ';
    return;
  }
  char sep = '{';
  for (const auto& [k, v] : l) {
    out_ += sep;
    sep = ',';
    out_ += k;
    out_ += "=\"";
    for (char c : v) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '"') {
        out_ += "\\\"";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }
  out_ += "} ";
}

void exposition::sample(std::string_view name, labels l, int64_t value) {
  start_sample(name, l);
  out_ += std::to_string(value);
  out_ += '\n';
}

void exposition::sample(std::string_view name, labels l, double value) {
  start_sample(name, l);
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);  // shortest exact form
  out_.append(buf, ec == std::errc() ? end : buf);
  out_ += '\n';
}

// ---- counting

const std::array<int64_t, metrics::kBuckets> metrics::kBucketUs = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
const std::array<std::string_view, metrics::kBuckets> metrics::kBucketLe = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",    "10"};

metrics::metrics() : start_time_ms_(wall_clock_ms()) {}

void metrics::request_answered(int16_t api_key, int64_t latency_us) {
  if (api_key < 0 || static_cast<size_t>(api_key) >= kApiKeys) return;
  api_counters& a = apis_[static_cast<size_t>(api_key)];
  latency_us = std::max<int64_t>(0, latency_us);
  a.count++;
  a.sum_us += latency_us;
  auto it = std::lower_bound(kBucketUs.begin(), kBucketUs.end(), latency_us);  // le: bound >= latency
  if (it != kBucketUs.end()) a.in_bucket[static_cast<size_t>(it - kBucketUs.begin())]++;
}

metrics::topic_counters& metrics::topic(std::string_view name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) it = topics_.emplace(std::string(name), topic_counters{}).first;
  return it->second;
}

namespace {

// Records in whole batches, from their headers' record count fields.
uint64_t records_in(std::string_view batches) {
  uint64_t n = 0;
  size_t pos = 0;
  batch_header h;
  while (parse_batch_header(batches.data() + pos, batches.size() - pos, &h)) {
    uint64_t size = format::kLogOverhead + static_cast<uint64_t>(static_cast<uint32_t>(h.batch_length));
    if (size < format::kBatchHeaderSize || size > batches.size() - pos) break;  // torn or bad: stop counting
    if (h.record_count > 0) n += static_cast<uint64_t>(h.record_count);
    pos += size;
  }
  return n;
}

}  // namespace

void metrics::produced(std::string_view topic_name, std::string_view batches) {
  topic_counters& t = topic(topic_name);
  t.records_in += records_in(batches);
  t.bytes_in += batches.size();
}

void metrics::fetched(std::string_view topic_name, uint64_t records, uint64_t bytes) {
  if (bytes == 0) return;  // an empty long-poll answer: no series for a topic never served
  topic_counters& t = topic(topic_name);
  t.records_out += records;
  t.bytes_out += bytes;
}

// ---- the page

void metrics::render_counters(exposition& out, size_t open_connections) const {
  std::vector<std::pair<std::string_view, const topic_counters*>> topics;
  for (const auto& [name, c] : topics_) topics.emplace_back(name, &c);
  std::sort(topics.begin(), topics.end());
  struct topic_family {
    const char* name;
    const char* help;
    uint64_t topic_counters::*field;
  };
  static const topic_family kTopicFamilies[] = {
      {"kappa_records_in_total", "Records appended by Produce requests, per topic.", &topic_counters::records_in},
      {"kappa_bytes_in_total", "Bytes of record batches appended by Produce requests, per topic.",
       &topic_counters::bytes_in},
      {"kappa_records_out_total", "Records sent in Fetch responses, per topic.", &topic_counters::records_out},
      {"kappa_bytes_out_total", "Bytes of record batches sent in Fetch responses, per topic.",
       &topic_counters::bytes_out},
  };
  for (const auto& f : kTopicFamilies) {
    out.family(f.name, "counter", f.help);
    for (const auto& [name, c] : topics) out.sample(f.name, {{"topic", name}}, static_cast<int64_t>(c->*f.field));
  }

  out.family("kappa_requests_total", "counter", "Kafka requests answered, per API.");
  for (const auto& api : wire::api_table())
    out.sample("kappa_requests_total", {{"api", api.name}},
               static_cast<int64_t>(apis_[static_cast<size_t>(api.key)].count));
  out.family("kappa_request_duration_seconds", "histogram",
             "Time from a request's decoding to its answer (a Fetch's wait for data included), per API.");
  for (const auto& api : wire::api_table()) {
    const api_counters& a = apis_[static_cast<size_t>(api.key)];
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets; i++) {
      cumulative += a.in_bucket[i];
      out.sample("kappa_request_duration_seconds_bucket", {{"api", api.name}, {"le", kBucketLe[i]}},
                 static_cast<int64_t>(cumulative));
    }
    out.sample("kappa_request_duration_seconds_bucket", {{"api", api.name}, {"le", "+Inf"}},
               static_cast<int64_t>(a.count));
    out.sample("kappa_request_duration_seconds_sum", {{"api", api.name}}, static_cast<double>(a.sum_us) / 1e6);
    out.sample("kappa_request_duration_seconds_count", {{"api", api.name}}, static_cast<int64_t>(a.count));
  }

  out.family("kappa_connections", "gauge", "Kafka client connections open now.");
  out.sample("kappa_connections", {}, static_cast<int64_t>(open_connections));
  out.family("kappa_connections_accepted_total", "counter", "Kafka client connections accepted.");
  out.sample("kappa_connections_accepted_total", {}, static_cast<int64_t>(accepted_));
  out.family("kappa_connections_refused_total", "counter",
             "Kafka client connections closed at once because --max-connections were open.");
  out.sample("kappa_connections_refused_total", {}, static_cast<int64_t>(refused_));
  out.family("kappa_start_time_seconds", "gauge", "When kappa serve started, in seconds since the epoch.");
  out.sample("kappa_start_time_seconds", {}, static_cast<double>(start_time_ms_) / 1e3);
}

std::string metrics::scrape(data_dir& dd, const group_coordinator& groups, size_t open_connections,
                            int64_t now_ms) const {
  exposition out;
  render_counters(out, open_connections);
  int64_t errors = 0;  // readings that failed (a topic deleted under a job, say): counted, not fatal

  // Consumer groups with committed offsets.
  struct lag_row {
    std::string group;
    group_lag lag;
  };
  std::vector<lag_row> lags;
  std::vector<job_record> jobs;
  if (catalog* cat = dd.catalog()) {
    if (auto names = cat->list_groups(); names.ok()) {
      for (const auto& g : names.value()) {
        auto offs = cat->group_offsets(g);
        if (!offs.ok()) {
          errors++;
          continue;
        }
        for (const auto& o : offs.value()) {
          auto l = group_lag_of(dd, o, now_ms);
          if (!l.ok()) {
            errors++;
            continue;
          }
          if (l->end >= 0) lags.push_back({g, std::move(l.value())});  // a deleted topic has no lag to show
        }
      }
    } else {
      errors++;
    }
    if (auto js = cat->list_jobs(); js.ok()) {
      jobs = std::move(js.value());
    } else {
      errors++;
    }
  }
  out.family("kappa_group_lag_records", "gauge",
             "Records a consumer group has yet to read: log end offset minus committed offset.");
  for (const auto& r : lags) {
    std::string part = std::to_string(r.lag.g.partition);
    out.sample("kappa_group_lag_records", {{"group", r.group}, {"topic", r.lag.g.topic}, {"partition", part}},
               r.lag.lag);
  }
  out.family("kappa_group_lag_seconds", "gauge",
             "Age of the record at a consumer group's committed offset; 0 when it has read everything.");
  for (const auto& r : lags) {
    std::string part = std::to_string(r.lag.g.partition);
    out.sample("kappa_group_lag_seconds", {{"group", r.group}, {"topic", r.lag.g.topic}, {"partition", part}},
               static_cast<double>(r.lag.lag_ms) / 1e3);
  }
  out.family("kappa_group_members", "gauge", "Live members of the consumer groups this server coordinates.");
  for (const auto& g : groups.list_groups())
    out.sample("kappa_group_members", {{"group", g.group_id}},
               static_cast<int64_t>(groups.live_members(g.group_id).size()));

  // Jobs: every version, as `kappa job status` shows them.
  std::vector<version_status> versions;
  std::vector<std::string> version_job;
  for (const auto& j : jobs)
    for (const auto& v : j.versions) {
      auto vs = status_of(dd, j, v);
      if (!vs.ok()) {
        errors++;
        continue;
      }
      versions.push_back(std::move(vs.value()));
      version_job.push_back(j.name);
    }
  out.family("kappa_job_serving_version", "gauge", "The version of each job whose output the job's alias names.");
  for (const auto& j : jobs) out.sample("kappa_job_serving_version", {{"job", j.name}}, int64_t{j.serving});
  out.family("kappa_job_lag_records", "gauge",
             "Input records a job version has yet to process, per input partition (from its checkpoints).");
  for (size_t i = 0; i < versions.size(); i++) {
    std::string ver = std::to_string(versions[i].v->number);
    for (const auto& p : versions[i].parts) {
      std::string part = std::to_string(p.partition);
      out.sample("kappa_job_lag_records",
                 {{"job", version_job[i]}, {"version", ver}, {"topic", versions[i].input}, {"partition", part}}, p.lag);
    }
  }
  out.family("kappa_job_watermark_timestamp_seconds", "gauge",
             "A job version's event-time watermark per input partition as last checkpointed, in seconds since the "
             "epoch (absent before its first watermark).");
  for (size_t i = 0; i < versions.size(); i++) {
    std::string ver = std::to_string(versions[i].v->number);
    for (const auto& p : versions[i].parts) {
      if (!p.checkpointed || p.watermark == INT64_MIN) continue;
      std::string part = std::to_string(p.partition);
      out.sample("kappa_job_watermark_timestamp_seconds",
                 {{"job", version_job[i]}, {"version", ver}, {"topic", versions[i].input}, {"partition", part}},
                 static_cast<double>(p.watermark) / 1e3);
    }
  }
  out.family("kappa_scrape_errors", "gauge",
             "Group or job readings this scrape could not make (see kappa group "
             "describe or kappa job status for why).");
  out.sample("kappa_scrape_errors", {}, errors);
  return std::move(out.text());
}

}  // namespace kappa::broker
