// kappa/catalog.h — the catalog: one LMDB environment per data dir (DIR/meta/) holding topics
// with their configs, consumer-group offsets and data-dir settings. LMDB error codes never
// leave this layer: they become Status here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kappa/status.h"
#include "kappa/topic_config.h"

namespace kappa {

struct topic_meta {
  std::string name;
  int32_t partitions = 1;
  topic_config config;
  int64_t created_ms = 0;
};

struct group_offset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;  // the next offset the group will read (Kafka's)
  int64_t commit_time_ms = 0;
};

class catalog {
 public:
  // Opens DIR/meta. With create=false a missing catalog is NotFound (a data
  // dir nobody has written to); with create=true it is made.
  static Result<std::unique_ptr<catalog>> open(const std::string& meta_dir, bool create);
  ~catalog();

  Result<topic_meta> get_topic(const std::string& name);
  Result<std::vector<topic_meta>> list_topics();
  // Exists if the topic is already there (checked in the same transaction).
  Status create_topic(const topic_meta& t);
  Status update_topic(const topic_meta& t);
  Status delete_topic(const std::string& name);

  // Stores offsets of one group for one topic, in one transaction.
  Status commit_offsets(const std::string& group, const std::string& topic,
                        const std::vector<std::pair<int32_t, int64_t>>& offsets);
  Result<std::vector<group_offset>> group_offsets(const std::string& group);
  Result<std::vector<std::string>> list_groups();
  // Deletes all of a group's offsets (of one topic if topic is not empty).
  Status delete_group(const std::string& group, const std::string& topic = "");

  // Data-dir settings (`kappa config`): the explicit ones, by key.
  Result<std::map<std::string, std::string>> settings();
  Status set_setting(const std::string& key, const std::string& value);

  struct env;

 private:
  explicit catalog(std::unique_ptr<env> e);
  std::unique_ptr<env> env_;
};

}  // namespace kappa
