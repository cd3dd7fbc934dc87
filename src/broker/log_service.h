// The data side of kappa serve: Kafka's Produce, Fetch, ListOffsets and the
// topic calls, over a data dir that other kappa processes use at the same
// time. No sockets here; the server (server.h) turns requests into calls.
//
// Writers: the server is a brief writer (partition_options::brief_writer):
// it holds a partition's writer lock only from a round's first append to
// that round's sync, so `kappa produce` and jobs in other processes write
// the same topics in between (they wait for the server's round; the
// server waits for them: kPartitionBusy). Appenders are closed once idle
// a moment (release_idle), which frees their buffers.
// Durability: append() leaves records written but not synced; sync() makes
// every partition written since the last sync durable at once (one group
// fsync for all the produce requests of a round) and gives the locks back.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/producer_state.h"
#include "kappa/catalog.h"
#include "kappa/data_dir.h"
#include "kappa/log.h"

namespace kappa::broker {

// Kafka error codes this side returns.
enum error : int16_t {
  kNone = 0,
  kOffsetOutOfRange = 1,
  kCorruptMessage = 2,
  kUnknownTopicOrPartition = 3,
  kMessageTooLarge = 10,
  kInvalidTopic = 17,
  kRecordListTooLarge = 18,
  kTopicAlreadyExists = 36,
  kInvalidPartitions = 37,
  kInvalidReplicationFactor = 38,
  kInvalidConfig = 40,
  kInvalidRecord = 87,
  kKafkaStorageError = 56,
  kUnknownServerError = -1,
  // Not Kafka's: another process holds the partition's writer lock (a
  // `kappa produce`, a job). The server holds the batch until it is free.
  kPartitionBusy = -2,
};

class log_service {
 public:
  log_service(data_dir& dd, bool auto_create);
  ~log_service();

  // The topic's partition count, creating it with the data dir's defaults
  // when `create` and auto-creation are on; -1 with *err set otherwise.
  int32_t partitions_of(std::string_view topic, bool create, int16_t* err);
  // Every topic's name and partition count.
  std::vector<std::pair<std::string, int32_t>> all_topics();
  // CreateTopics: partitions/replication -1 = defaults; configs by Kafka's
  // names. *message gets a reason on error.
  int16_t create_topic(std::string_view name, int32_t partitions, int16_t replication,
                       const std::vector<std::pair<std::string, std::string>>& configs, bool validate_only,
                       std::string* message);
  int16_t delete_topic(std::string_view name);
  // The topic's effective configs (DescribeConfigs); false if unknown.
  bool topic_configs(std::string_view name, std::vector<std::pair<std::string, std::string>>* out);

  // Appends one client batch; *base_offset is its first offset. A batch of
  // an idempotent producer is checked against what that producer appended
  // before (producer_state.h): a repeat is answered with its first offset
  // and not appended again; a gap or an old epoch is refused. In a topic
  // with message.timestamp.type=LogAppendTime the stored batch is stamped
  // with the append time, which *append_time gets (Produce answers it);
  // else -1.
  int16_t append(std::string_view topic, int32_t partition, std::string_view batch, int64_t* base_offset,
                 int64_t* append_time, std::string* message);
  // Makes everything appended since the last sync durable and gives the
  // writer locks back. Returns the partitions whose sync failed (their
  // appends must be answered with an error), as "topic/partition".
  std::vector<std::string> sync();
  // Closes appenders not written for idle_ms, freeing their buffers (the
  // writer locks went back at the end of their last round already).
  void release_idle(int64_t now_ms, int64_t idle_ms);

  struct fetched {
    int16_t error = kNone;
    int64_t high_watermark = -1;
    int64_t log_start_offset = -1;
    // Whole stored batches, as they are: file ranges to send (sendfile).
    std::vector<batch_range> ranges;
    uint64_t bytes = 0;  // their total length
  };
  // Up to max_bytes of whole batches from `offset` on (at least the first
  // one whatever its size, if first_in_response: KIP-74). The ranges keep
  // their segment files open until dropped.
  fetched fetch(std::string_view topic, int32_t partition, int64_t offset, size_t max_bytes, bool first_in_response);
  // ListOffsets: -2 earliest, -1 latest, else the first offset whose
  // timestamp is >= ts (-1 if none).
  int16_t list_offset(std::string_view topic, int32_t partition, int64_t ts, int64_t* offset, int64_t* found_ts);
  // The partition directories of every known partition (for the watcher).
  std::vector<std::string> partition_dirs();
  // The partition's first offset (Produce v5+ answers it), -1 if unknown.
  int64_t log_start_offset(std::string_view topic, int32_t partition);

 private:
  struct partition_state {
    std::unique_ptr<partition_appender> appender;
    int64_t last_write_ms = 0;
    bool dirty = false;
    std::unique_ptr<partition_reader> reader;
    int64_t log_start = -1, log_start_read_ms = 0;  // cached_log_start()
    // Idempotent producers' state, rebuilt from the partition's newest
    // batches when the first idempotent batch comes (after a restart too).
    std::unique_ptr<producer_state> producers;
  };
  struct topic_state {
    topic_meta meta;
    std::vector<partition_state> parts;
  };
  topic_state* find(std::string_view topic, bool create, int16_t* err);
  producer_state* producers_of(topic_state& t, int32_t partition, partition_state& p);
  partition_state* part(std::string_view topic, int32_t partition, bool create, int16_t* err);
  // The partition's reader, opened on first use; null if it cannot be.
  partition_reader* reader_of(std::string_view topic, int32_t partition, partition_state& p);
  // The log start, at most a second old unless above `offset`. REQUIRES: p.reader.
  int64_t cached_log_start(partition_state& p, int64_t offset);

  data_dir& dd_;
  bool auto_create_;
  std::map<std::string, topic_state, std::less<>> topics_;
};

}  // namespace kappa::broker
