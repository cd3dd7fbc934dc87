// kappa/data_dir.h — a kappa data directory: topics, their partitions and
// configs, consumer-group offsets. The embedding API; the CLI uses only it.
//
//   auto dd = kappa::data_dir::open("/var/lib/kappa", true).value();
//   auto w = dd->open_appender("clicks", 0).value();
//   w->append(ts, kappa::bytes_view::null(), kappa::bytes_view::of(line)); w->sync();
//   auto r = dd->open_reader("clicks", 0).value();
//   kappa::record_view rec; while (r->next(&rec).value() == kappa::partition_reader::status::record) ...
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kappa/log.h"
#include "kappa/retention.h"
#include "kappa/status.h"

namespace kappa {

class catalog;
struct topic_meta;
class background_maintenance;

// What one pass of the data dir's disk budget (max.bytes) did.
struct budget_report {
  int64_t max_bytes = -1;   // the budget; -1 = none
  uint64_t bytes_before = 0;  // segment files of all topics
  uint64_t bytes_after = 0;
  int32_t segments_retired = 0;  // removed, or moved to an archive tier
  bool busy = false;             // another pass was running (wait=false)
  // Per partition: what the budget removed (bytes of .log files).
  struct removal {
    std::string topic;
    int32_t partition = 0;
    int32_t segments = 0;
    uint64_t bytes = 0;
    bool archived = false;
  };
  std::vector<removal> removals;
  // Partition directories whose active segment holds the remaining
  // excess: their writers should roll so that it can go.
  std::vector<std::string> partitions_to_roll;
};

class data_dir {
 public:
  // Opens the data dir at `path`. With create=false a dir that does not
  // exist yet opens empty (nothing is created until something is written).
  static Result<std::unique_ptr<data_dir>> open(const std::string& path, bool create);
  ~data_dir();

  const std::string& path() const { return path_; }
  std::string partition_dir(const std::string& topic, int32_t partition) const;
  // Makes the catalog and the directory if they are missing.
  Status ensure_created();
  // kappa serve holds <dir>/serve.lock while it runs (as a Kafka broker
  // locks its log dirs): "pid N, listening on HOST:PORT" if one does now,
  // else empty.
  std::string served_by() const;
  static constexpr const char* kServeLockFile = "serve.lock";
  // The catalog, or nullptr while the data dir does not exist.
  class catalog* catalog() {
    return catalog_.get();
  }

  // Topic metadata: NotFound if there is no such topic.
  Result<topic_meta> topic(const std::string& name);
  // What a reader opens by `name`: the topic of that name, else the topic
  // the alias `name` points to now (kappa alias; an alias never shadows a
  // topic). NotFound if neither exists.
  Result<topic_meta> resolve_topic(const std::string& name);
  // Creates a topic and its partition directories (Exists if present).
  Status create_topic(const topic_meta& t);
  // Removes a topic: refused (Busy) while a writer holds any partition.
  Status delete_topic(const std::string& name);

  // write_buffer_bytes: 0 = the default (see partition_options). The
  // appender applies retention and compaction (on the data dir's
  // maintenance thread) whenever it rolls a segment, and keeps max.bytes.
  // compression: the codec of the batches it writes. brief_writer: see
  // partition_options.
  Result<std::unique_ptr<partition_appender>> open_appender(const topic_meta& t, int32_t partition,
                                                            size_t write_buffer_bytes = 0,
                                                            codec compression = codec::none,
                                                            bool brief_writer = false);
  // with_archive: read the topic's archived segments first (archive.dir);
  // prefetch: see partition_options::prefetch.
  Result<std::unique_ptr<partition_reader>> open_reader(const topic_meta& t, int32_t partition,
                                                        bool with_archive = false, bool prefetch = false);
  // The partition's directory in the archive tier ("" without archive.dir).
  std::string archive_dir(const topic_meta& t, int32_t partition) const;
  // The options a partition of `t` is stored with (what maintain_partition
  // in kappa/retention.h takes to apply retention and compaction now).
  partition_options options(const topic_meta& t, int32_t partition) const;

  // Applies the disk budget now (see budget_report). One pass at a time
  // per data dir (budget.lock): with wait=false a pass that finds another
  // running does nothing (busy).
  Result<budget_report> enforce_budget(bool wait = true);
  // Checks a topic's configs against this data dir (archive.dir must lie
  // outside it). Invalid, naming the rule, if not.
  Status check_topic_config(const topic_meta& t) const;

  // Data-dir settings (`kappa config`): the effective value of a known key.
  Result<std::string> setting(const std::string& key);
  Status set_setting(const std::string& key, const std::string& value);

 private:
  data_dir() = default;
  std::string path_;
  std::unique_ptr<class catalog> catalog_;
  std::shared_ptr<background_maintenance> maintenance_;  // started with the first appender
  std::mutex maintenance_mu_;  // appenders open on several threads (serve --jobs)
};

// "topic clicks partition 0": how messages name a partition.
std::string partition_name(const std::string& topic, int32_t partition);

}  // namespace kappa
