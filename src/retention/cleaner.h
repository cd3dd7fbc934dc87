// Compaction (cleanup.policy=compact), after Kafka's LogCleaner: for every
// key keep only the record with the highest offset, in the sealed segments
// only; offsets are kept (readers see gaps); tombstones go once they are
// delete.retention.ms old; segments newer than min.compaction.lag.ms stay
// as they are; a pass runs when the dirty (not yet compacted) share of the
// log reaches min.cleanable.dirty.ratio, or when a tombstone is due.
//
// A pass maps each key of the dirty part to its latest offset (key_map),
// then rewrites the sealed segments up to the end of what it mapped, in
// groups that fit one segment, swapping each group in crash-safely
// (kappa/log/format.h). Its progress is kept in cleaner-offset-checkpoint.
#pragma once

#include <cstdint>
#include <string>

#include "io/io_backend.h"
#include "kappa/log.h"
#include "kappa/status.h"

namespace kappa {

struct clean_result {
  int32_t segments_cleaned = 0;  // input segments rewritten
  int64_t records_removed = 0;
  uint64_t bytes_freed = 0;
};

// The key map's memory limit: a pass that meets more distinct keys maps
// what fits and leaves the rest for the next pass.
inline constexpr size_t kDefaultKeyMapBytes = 48u << 20;

// REQUIRES: the caller holds the cleaner lock and ran recover_sealed().
Result<clean_result> compact_partition(io_backend& io, const std::string& dir, const std::string& name,
                                       const partition_options& options, int64_t now_ms,
                                       size_t key_map_bytes = kDefaultKeyMapBytes);

}  // namespace kappa
