// kappa serve's metrics (`--metrics`, SPEC section 8): what the server
// counts as it runs, and the page a Prometheus scrape gets, in the text
// exposition format 0.0.4.
//
// Counted as the server goes, per batch or per request, never per record
// (a batch's record count is a field of its header):
//   kappa_records_in_total{topic}, kappa_bytes_in_total{topic}      Produce
//       (batches acknowledged as appended: an idempotent producer's retry
//       of a batch already appended is counted again)
//   kappa_records_out_total{topic}, kappa_bytes_out_total{topic}    Fetch
//   kappa_requests_total{api}, kappa_request_duration_seconds{api}  from a
//       request's decoding to its answer (a fetch's long poll included)
//   kappa_connections, kappa_connections_accepted_total,
//   kappa_connections_refused_total (past --max-connections)
// Read at scrape time, from the catalog and the logs (scrape() below):
//   kappa_group_lag_records / _seconds{group,topic,partition}, as `kappa
//   group describe` computes them (catalog/group_lag.h); kappa_group_members
//   {group} for groups served live; kappa_job_lag_records{job,version,topic,
//   partition} and kappa_job_watermark_timestamp_seconds, as `kappa job
//   status` computes them (processor/job_status.h).
//
// Not thread-safe: the server's one thread counts and renders.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "kappa/data_dir.h"

namespace kappa::broker {

class group_coordinator;

// Writes the text format: a family's # HELP and # TYPE lines, then its
// samples. Label values are escaped (\\, \", \n); names are the caller's
// constants and must already be valid.
class exposition {
 public:
  using labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, labels l, int64_t value);
  void sample(std::string_view name, labels l, double value);
  std::string& text() { return out_; }

 private:
  void start_sample(std::string_view name, labels l);
  std::string out_;
};

class metrics {
 public:
  // A monotonic clock in microseconds: requests' latencies.
  static int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  metrics();

  // A request of `api_key` was answered (or, with acks=0, appended with no
  // answer) `latency_us` after it was decoded.
  void request_answered(int16_t api_key, int64_t latency_us);
  // Batches appended to a topic: a concatenation of whole RecordBatch v2; a
  // torn tail is not counted as records, its bytes are.
  void produced(std::string_view topic, std::string_view batches);
  // Records and bytes of whole batches served from a topic (sent from its
  // files: the reader counted them from the batch headers it checked).
  void fetched(std::string_view topic, uint64_t records, uint64_t bytes);
  void connection_accepted() { accepted_++; }
  void connection_refused() { refused_++; }

  // The whole page: the counters, then what is read now from the data dir
  // (group and job lag, which may open readers: one record per lagging
  // partition) and from the live groups.
  std::string scrape(data_dir& dd, const group_coordinator& groups, size_t open_connections, int64_t now_ms) const;

  // Latency buckets' upper bounds, in microseconds, and as `le` labels.
  static constexpr size_t kBuckets = 16;
  static const std::array<int64_t, kBuckets> kBucketUs;
  static const std::array<std::string_view, kBuckets> kBucketLe;

 private:
  struct topic_counters {
    uint64_t records_in = 0, bytes_in = 0, records_out = 0, bytes_out = 0;
  };
  struct api_counters {
    uint64_t count = 0;
    int64_t sum_us = 0;
    std::array<uint64_t, kBuckets> in_bucket{};  // not cumulative; +Inf is count
  };
  // Heterogeneous lookup: no std::string is made to find a topic.
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  topic_counters& topic(std::string_view name);
  void render_counters(exposition& out, size_t open_connections) const;

  static constexpr size_t kApiKeys = 128;  // Kafka's keys are below this
  std::array<api_counters, kApiKeys> apis_;
  std::unordered_map<std::string, topic_counters, string_hash, std::equal_to<>> topics_;
  uint64_t accepted_ = 0, refused_ = 0;
  int64_t start_time_ms_;
};

}  // namespace kappa::broker
