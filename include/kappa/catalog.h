// kappa/catalog.h — the catalog: one LMDB environment per data dir (DIR/meta/) holding topics
// with their configs, consumer-group offsets, stream-job checkpoints, job definitions,
// aliases and data-dir settings. LMDB error codes never leave this layer: they become
// Status here.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
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

// A member of a group that kappa serve coordinates (Kafka's
// kafka-consumer-groups --members shows the same).
struct live_group_member {
  std::string member_id;
  std::string client_id;
  std::string client_host;
};

struct group_offset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;  // the next offset the group will read (Kafka's)
  int64_t commit_time_ms = 0;
};

// A stream job's checkpoint of one input partition (`kappa sessionize`):
// where it is in its input, how far its outputs reached when that position
// was processed, and its counters. Committed together with the partition's
// changed window state and the job group's offset, in one transaction.
struct partition_checkpoint {
  int32_t partition = 0;
  int64_t input_next = 0;   // the next input offset to process
  int64_t watermark = INT64_MIN;
  int64_t output_end = 0;   // end offset of the output partition
  int64_t late_end = -1;    // end offset of the late-output partition (-1: none)
  uint64_t events = 0, sessions = 0, late = 0, malformed = 0;  // since the job began
  uint64_t open_sessions = 0;
  uint64_t checkpoints = 0;  // how many commits made this partition's state
  int64_t time_ms = 0;       // when it was committed
  uint64_t state_bytes = 0;  // bytes of the partition's state chain (see commit_checkpoint)
  uint64_t full_bytes = 0;   // bytes of the full snapshot that starts the chain
  int64_t run_started_ms = 0;  // when the run that committed it began
  uint64_t run_events = 0;     // input records that run has processed
  // --idle-timeout's memory (INT64_MIN: none): the last input record's
  // timestamp and the watermark right after it.
  int64_t last_record_timestamp = INT64_MIN;
  int64_t record_watermark = INT64_MIN;
};

// A job's definition as its first checkpoint recorded it: the input topic
// and the text of its options, so a rerun with other options is caught.
struct job_definition {
  std::string input;
  std::string options;
};

// An alias (`kappa alias`): a name readers resolve to a topic at open
// time. `previous` is the topic it pointed to before its last switch ("" if
// none), so a consumer group that followed the alias can be told where it was.
struct alias_entry {
  std::string name, topic, previous;
  int64_t set_ms = 0;
};

// A versioned job (`kappa job`): its versions' options as text ("key=value"
// lines in sessionize's option names), which version serves readers
// through the alias `base`, and per version whether its reprocessing run
// has caught up with the input once.
struct job_version {
  int32_t number = 1;
  std::string options;      // "input=clicks\ngap=30m\n..."
  int64_t created_ms = 0;
  bool caught_up = false;   // its first run (job reprocess) reached the log end
};
struct job_record {
  std::string name;
  std::string kind = "sessionize";
  std::string base;         // output alias; version N writes base.vN
  int32_t serving = 1;      // the version the alias points to
  int64_t created_ms = 0;
  std::vector<job_version> versions;  // ascending, versions[i].number == i + 1
};

// A mirror (`kappa mirror`, SPEC section 9): what it forwards where.
struct mirror_record {
  std::string name;
  bool to = true;          // true: --to (local -> cluster); false: --from (cluster -> local)
  std::string bootstrap;   // the cluster's bootstrap.servers
  std::string topics;      // "a,b,c" or "/REGEX/"
  std::string prefix;      // prepended to destination topic names
  bool from_latest = false;  // --start latest: a new partition starts at its end
  std::vector<std::pair<std::string, std::string>> properties;  // -X key=value, in order
  int64_t created_ms = 0;
};

// A mirror's progress in one source partition. For --from, output_end is
// the local partition's end when `next` was committed: both move in one
// transaction, so a restart cuts the local topic back to output_end and
// fetches from `next` (sessionize's exactly-once scheme).
struct mirror_progress {
  std::string topic;        // the source topic
  int32_t partition = 0;
  int64_t next = 0;         // the next source offset not yet confirmed by the destination
  int64_t output_end = -1;  // --from: the local partition's end at `next`
  int64_t dest_floor = -1;  // --to: the destination's end when the mirror began writing it
  int64_t source_end = -1;  // the source's end as last seen (--from: the cluster's high watermark)
  int64_t next_ts = -1;     // timestamp of the record at `next` if known, else of the last confirmed one
  std::vector<std::pair<int64_t, int64_t>> lost;  // [first, last] ranges removed before they were forwarded
  std::string last_error;   // "" = none
  int64_t time_ms = 0;      // when it was committed
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
  // Deletes all of a group's offsets (of one topic if topic is not empty),
  // and the checkpoint of a job by that name (whose input is that topic).
  Status delete_group(const std::string& group, const std::string& topic = "");

  // The live members of the groups kappa serve coordinates, as its
  // coordinator last published them (on every membership change; cleared
  // when a server starts). Meaningful only while that server runs
  // (data_dir::served_by): a killed server leaves its last list behind.
  Status set_live_members(const std::string& group, const std::vector<live_group_member>& members);
  Result<std::vector<live_group_member>> live_members(const std::string& group);
  Status clear_live_members();

  // Stream-job checkpoints, by job name (the job's consumer group).
  // A partition's window state is a chain of opaque blobs: a full snapshot,
  // then one delta per checkpoint since (so a checkpoint writes what
  // changed, in one sequential value, whatever the key order). In one
  // transaction, commit_checkpoint stores the definition (Invalid if a
  // different one is stored), appends `state` to the chain (full: it
  // replaces the chain; empty and not full: nothing appended), stores the
  // partition's checkpoint and the group offset input_next for
  // (job, input, partition); nothing if any step fails.
  Status commit_checkpoint(const std::string& job, const job_definition& def, const partition_checkpoint& cp,
                           std::string_view state, bool full);
  // NotFound if the job has never checkpointed.
  Result<job_definition> job_definition_of(const std::string& job);
  Result<std::vector<partition_checkpoint>> checkpoints(const std::string& job);
  // Calls fn for each state blob of one partition, oldest first.
  Status scan_state(const std::string& job, int32_t partition, const std::function<Status(std::string_view)>& fn);

  // Aliases. set_alias creates or switches one atomically; it is Exists if
  // a topic has that name (an alias never shadows a topic) and NotFound if
  // `topic` is not a topic. create_topic is Exists for an alias's name, and
  // delete_topic is Busy for a topic an alias points to.
  Status set_alias(const std::string& alias, const std::string& topic);
  Result<alias_entry> get_alias(const std::string& alias);  // NotFound if none
  Result<std::vector<alias_entry>> list_aliases();
  Status delete_alias(const std::string& alias);

  // Jobs. create_job is Exists if the job (or, with an alias, a topic or
  // alias of the alias's name) exists; it sets the alias `j.base` to
  // `alias_topic` in the same transaction unless that is empty.
  // modify_job changes a job in one write transaction (so no other process
  // changes it in between): `edit` changes the record and may set
  // *alias_topic to switch the alias j.base in the same transaction (job
  // cutover); nothing is written if it fails. delete_job removes the record
  // and the alias j.base if it points to one of the job's versions.
  Status create_job(const job_record& j, const std::string& alias_topic);
  Status modify_job(const std::string& name, const std::function<Status(job_record&, std::string*)>& edit);
  Result<job_record> get_job(const std::string& name);  // NotFound if none
  Result<std::vector<job_record>> list_jobs();
  Status delete_job(const std::string& name);

  // Mirrors. create_mirror is Exists if the name is taken. delete_mirror
  // drops the mirror and its progress (NotFound if none).
  // commit_mirror_progress stores progress entries in one transaction
  // (replacing those of the same source partitions); NotFound if the mirror
  // was deleted meanwhile.
  Status create_mirror(const mirror_record& m);
  Result<mirror_record> get_mirror(const std::string& name);  // NotFound if none
  Result<std::vector<mirror_record>> list_mirrors();
  Status delete_mirror(const std::string& name);
  Result<std::vector<mirror_progress>> mirror_progress_of(const std::string& name);
  Status commit_mirror_progress(const std::string& name, const std::vector<mirror_progress>& progress);

  // Data-dir settings (`kappa config`): the explicit ones, by key.
  Result<std::map<std::string, std::string>> settings();
  Status set_setting(const std::string& key, const std::string& value);

  struct env;

 private:
  explicit catalog(std::unique_ptr<env> e);
  std::unique_ptr<env> env_;
};

}  // namespace kappa
