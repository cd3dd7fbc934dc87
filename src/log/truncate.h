// Cutting a partition back to an offset: exactly-once jobs truncate their
// output to the end offset of their last checkpoint before resuming.
#pragma once

#include <cstdint>
#include <string>

#include "io/io_backend.h"
#include "kappa/status.h"

namespace kappa {

// Removes every record at or after `end_offset` from the partition in
// `dir`, so that the next append gets `end_offset`. Segments wholly past it
// go (newest first), the one holding it is cut at the batch that starts
// there and becomes the active segment, with its indexes rebuilt. Running
// it again after a crash finishes the job. Invalid if end_offset falls
// inside a batch, or before the log start. Nothing to do if the log ends
// at or before end_offset.
// REQUIRES: the caller holds the writer lock and no appender is open.
Status truncate_partition(io_backend& io, const std::string& dir, const std::string& what, int64_t end_offset,
                          size_t max_batch_bytes);

}  // namespace kappa
