// A segment's files and the scan over its batches that recovery, readers,
// verify and index rebuilding share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/io_backend.h"
#include "kappa/status.h"
#include "log/offset_index.h"
#include "log/record_batch.h"
#include "log/time_index.h"

namespace kappa {

// The largest batch a reader or recovery accepts before calling a length
// field corrupt: generous over max.message.bytes (which may have been lowered
// since), yet bounded so a damaged length never drives a huge allocation.
size_t readable_batch_limit(uint32_t max_message_bytes);

// Base offsets of the segments (.log files) in a partition directory, sorted.
Result<std::vector<int64_t>> list_segments(const std::string& dir);

// Reads a whole small file (an index) into *out; a missing file is NotFound.
Status read_small_file(const std::string& path, std::string* out, size_t limit);
// Replaces a file's contents with `bytes` (truncate + write), optionally synced.
Status rewrite_file(const std::string& path, const std::string& bytes, bool sync);

// What stopped a segment scan.
struct scan_stop {
  batch_state state = batch_state::ok;  // ok = clean end of file
  uint64_t position = 0;                // where the scan stopped
  std::string why;                      // for corrupt
};

// Reads batches of the segment file fd from `position` to its end, in large
// chunks through `io`, calling on_batch(header, batch bytes, position) for
// each whole valid batch. Stops at end of file, the first incomplete or
// corrupt batch, or at the batch for which on_batch returns false (its
// position is then where the scan stopped).
using batch_fn = std::function<bool(const batch_header&, const char*, uint64_t)>;
Result<scan_stop> scan_segment(io_backend& io, int fd, uint64_t position, size_t max_batch_bytes,
                               const batch_fn& on_batch);

// Kafka's index-building rule, as LogSegment.append applies it: feed it every
// batch in order and it appends the entries Kafka would have.
struct index_builder {
  offset_index* index;
  time_index* times;
  uint64_t bytes_since_entry = 0;
  int64_t max_timestamp = -1;  // largest timestamp so far in the segment
  int64_t offset_of_max = -1;  // last offset of the batch that holds it
  void add(const batch_header& h, uint64_t position);
  // When a segment is sealed Kafka records its final max timestamp.
  void seal() {
    if (max_timestamp >= 0) times->maybe_append(max_timestamp, offset_of_max);
  }
};

// Rebuilds a segment's indexes from its .log (up to the first damage).
Status rebuild_indexes(io_backend& io, const std::string& dir, int64_t base, size_t max_batch_bytes,
                       offset_index* index, time_index* times, bool sealed);

// The offset after the last whole batch of segment `base`, scanning from
// the last entry of its offset index at index_path (default: its .index).
Result<int64_t> segment_next_offset(io_backend& io, const std::string& dir, int64_t base, size_t max_batch_bytes,
                                    const std::string& index_path = "");

}  // namespace kappa
