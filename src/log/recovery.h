// Crash recovery of a partition directory, run by its writer on open (and by
// a reader that finds no writer): after it, the active segment holds only
// whole, valid batches and every segment has consistent indexes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/io_backend.h"
#include "kappa/status.h"
#include "log/offset_index.h"
#include "log/segment.h"
#include "log/time_index.h"

namespace kappa {

// The state of the active (newest) segment an appender continues from.
struct active_segment {
  int64_t base_offset = 0;
  uint64_t size = 0;                // bytes of whole batches in the .log
  int64_t next_offset = 0;          // offset the next record gets
  int64_t first_batch_max_ts = -1;  // Kafka's rollingBasedTimestamp; -1 if empty
  offset_index index;
  time_index times;
  index_builder builder{&index, &times};
  size_t index_on_disk = 0, times_on_disk = 0;  // entries already in the files

  active_segment() = default;
  // Empty, starting at `base` (a roll to a new segment, or forgetting the
  // partition's end until recovery finds it again).
  void start(int64_t base) {
    base_offset = next_offset = base;
    size = 0;
    first_batch_max_ts = -1;
    index = offset_index(base);
    times = time_index(base);
    builder = index_builder{&index, &times};
    index_on_disk = times_on_disk = 0;
  }
  active_segment(const active_segment&) = delete;
  active_segment& operator=(const active_segment&) = delete;
};

struct recovery_report {
  std::vector<std::string> notes;  // one line per repair, for stderr
  // Readers: an index file that cannot be rewritten (a full disk) is a
  // note, not an error; readers cope with a stale or missing index.
  bool indexes_best_effort = false;
};

// Recovers `dir` (creating nothing but a cleaner.lock). `what` names the
// partition in messages. REQUIRES: the caller holds the writer lock.
Status recover_partition(io_backend& io, const std::string& dir, const std::string& what, size_t max_batch_bytes,
                         active_segment* active, recovery_report* report);

// The sealed segments only: an interrupted compaction swap is finished or
// undone, index files whose .log is gone (a crash while removing) dropped,
// missing or damaged indexes rebuilt. recover_partition() runs it when it
// can take the cleaner lock. REQUIRES: the caller holds the cleaner lock.
Status recover_sealed(io_backend& io, const std::string& dir, const std::string& what, size_t max_batch_bytes,
                      recovery_report* report);

}  // namespace kappa
