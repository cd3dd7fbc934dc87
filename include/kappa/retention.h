// kappa/retention.h — Kafka's log cleaner for one partition: delete
// retention (retention.ms, retention.bytes), compaction (cleanup.policy
// compact) and kappa's archive tier (archive.dir). Only sealed segments are
// touched, never the active one, and every step is crash-safe: after a
// kill -9 the partition is readable, complete and in Kafka format.
//
// Writers run this on their own when they roll a segment (see data_dir);
// `kappa maintain` runs it on demand.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kappa/log.h"
#include "kappa/status.h"

namespace kappa {

// What one maintenance pass over a partition did.
struct maintenance_report {
  int32_t segments_removed = 0;  // deleted by retention
  uint64_t bytes_removed = 0;     // of their .log files
  int32_t segments_archived = 0;  // moved to the archive tier by retention
  uint64_t bytes_archived = 0;
  int32_t segments_cleaned = 0;  // sealed segments rewritten by compaction
  int64_t records_cleaned = 0;   // records compaction dropped
  uint64_t bytes_cleaned = 0;    // bytes compaction freed
  int64_t log_start_offset = 0;  // after the pass
  std::vector<std::string> notes;  // repairs of an interrupted earlier pass
};

// Applies retention, then compaction, to the partition in `dir` as
// `options` say, at time now_ms. Takes the partition's cleaner lock,
// waiting while another process holds it. `name` names it in messages.
Result<maintenance_report> maintain_partition(const std::string& dir, const std::string& name,
                                              const partition_options& options, int64_t now_ms);

// One segment as retention sees it.
struct segment_stat {
  int64_t base_offset = 0;
  uint64_t log_bytes = 0;
  uint64_t index_bytes = 0;  // .index + .timeindex
  int64_t newest_timestamp = -1;  // from the time index, else the file's mtime
};
// The segments in a partition (or archive) directory, oldest first. The
// last one of a partition directory is its active segment.
Result<std::vector<segment_stat>> stat_segments(const std::string& dir);

// Removes the oldest sealed segment (to the archive tier if the options
// have one), for the data dir's disk budget. Returns its bytes (log and
// indexes), or 0 when there is no sealed segment, or (wait=false) when
// another process holds the partition's cleaner lock.
Result<uint64_t> retire_oldest_segment(const std::string& dir, const std::string& name,
                                       const partition_options& options, bool wait);

}  // namespace kappa
