// kappa/mirror.h — forwarding a data dir's topics to a Kafka cluster, and
// pulling a cluster's topics into it, exactly once (`kappa mirror`, SPEC
// section 9). The Kafka client is librdkafka.
//
//   kappa::mirror_record m;  // name, to/from, bootstrap, topics, ...
//   dd->catalog()->create_mirror(m);   // after kappa::mirror::check(m)
//   auto run = kappa::mirror::open(*dd, "edge", /*follow=*/true).value();
//   kappa::Status st = run->run();     // stop() from another thread or a signal
//
// --to: each source partition is read from its confirmed position and
// produced, with its key, value, timestamp, headers and partition, by an
// idempotent producer; each forwarded record carries the header
// kMirrorOffsetHeader (its source offset, decimal), so a restart finds
// where the destination really ends from its last record rather than from
// the last progress committed. --from: a consumer reads each cluster
// partition from its committed position and appends to the local topic;
// the local end and the cluster position are committed together, and a
// restart cuts the local partition back to that end.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kappa/catalog.h"
#include "kappa/data_dir.h"
#include "kappa/status.h"

namespace kappa {

// The header a --to mirror adds to every record it forwards.
inline constexpr const char* kMirrorOffsetHeader = "kappa.mirror.offset";

// Where a mirror stands in one source partition (`kappa mirror status`).
struct mirror_partition_status {
  std::string topic;  // the source topic
  int32_t partition = 0;
  int64_t log_end_offset = -1;    // the source's end (--from: as the mirror last saw it; -1 unknown)
  int64_t committed_offset = 0;   // the next source offset not yet confirmed by the destination
  int64_t lag = 0;                // records
  int64_t lag_ms = 0;             // age of the oldest unconfirmed record; 0 when none
  std::string last_error;         // "" = none
  std::vector<std::pair<int64_t, int64_t>> lost;
};

class mirror {
 public:
  // Checks a definition before it is stored: its name, its topics (a list
  // of topic names, or /REGEX/ in ECMAScript syntax), its prefix, and every
  // -X property against librdkafka. Invalid, naming what is wrong.
  static Status check(const mirror_record& m);
  // The destination topic of source topic `topic` (the prefix prepended).
  static std::string destination_of(const mirror_record& m, const std::string& topic);
  // Whether source topic `topic` is one the mirror forwards.
  static bool matches(const mirror_record& m, const std::string& topic);
  // The --from mirror whose local topics include `topic`, if any ("" if
  // none): such topics belong to it, and other writers are refused.
  static Result<std::string> owner_of_local_topic(data_dir& dd, const std::string& topic);

  // Takes the mirror's run lock (Busy, naming the pid, if another process
  // runs it). follow: keep forwarding new records until stop(); without
  // it, run() forwards up to the source's end as of its start, waits until
  // the destination has confirmed it, and returns. `note` receives what
  // is said on stderr (waiting for the cluster, back again, lost offsets).
  static Result<std::unique_ptr<mirror>> open(data_dir& dd, const std::string& name, bool follow,
                                              std::function<void(const std::string&)> note = {});
  // The pid of the process running mirror `name`, or 0 if none.
  static int running_pid(const data_dir& dd, const std::string& name);
  // Per source partition: the stored progress against the source's end.
  static Result<std::vector<mirror_partition_status>> status(data_dir& dd, const mirror_record& m);

  virtual ~mirror() = default;
  // Forwards until done (see open) or stop(); what the destination has
  // confirmed is committed before it returns. A problem that retrying
  // cannot mend (a refused property, a destination with too few
  // partitions, a record the destination refuses for good) is returned.
  virtual Status run() = 0;
  // Asks run() to commit what is confirmed and return within a few
  // seconds. Safe from a signal handler.
  void stop() { stop_.store(true, std::memory_order_relaxed); }

 protected:
  mirror() = default;
  std::atomic<bool> stop_{false};
};

}  // namespace kappa
