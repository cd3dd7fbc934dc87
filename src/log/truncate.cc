#include "log/truncate.h"

#include <fcntl.h>

#include "io/file.h"
#include "kappa/log/format.h"
#include "log/offset_index.h"
#include "log/segment.h"
#include "log/segment_map.h"
#include "log/segment_name.h"
#include "log/segment_swap.h"
#include "log/time_index.h"

namespace kappa {

Status truncate_partition(io_backend& io, const std::string& dir, const std::string& what, int64_t end_offset,
                          size_t max_batch_bytes) {
  KAPPA_ASSIGN_OR_RETURN(auto bases, list_segments(dir));
  if (bases.empty()) {
    if (end_offset == 0) return Status::OK();
    return Status::Invalid(what + " is empty; it cannot be cut back to offset " + std::to_string(end_offset));
  }
  if (end_offset < bases.front())
    return Status::Invalid("cannot cut " + what + " back to offset " + std::to_string(end_offset) +
                           ": it is below the log start offset " + std::to_string(bases.front()));
  // Segments wholly at or past the cut go, newest first (a crash midway
  // leaves a shorter log that a rerun cuts further).
  while (bases.size() > 1 && bases.back() >= end_offset) {
    KAPPA_RETURN_IF_ERROR(remove_segment(dir, bases.back()));
    KAPPA_RETURN_IF_ERROR(sync_dir(dir));
    bases.pop_back();
  }
  int64_t base = bases.back();
  std::string log = segment_path(dir, base, format::kLogSuffix);
  KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(log, O_RDWR));
  // Find the batch that starts at the cut (or the end of the valid data).
  uint64_t cut = UINT64_MAX;
  Status straddle;
  KAPPA_ASSIGN_OR_RETURN(
      scan_stop stop,
      scan_segment(io, fd.get(), 0, max_batch_bytes, [&](const batch_header& h, const char*, uint64_t pos) {
        if (h.base_offset >= end_offset) {
          cut = pos;
          return false;
        }
        if (h.last_offset() >= end_offset) {
          straddle = Status::Invalid("cannot cut " + what + " back to offset " + std::to_string(end_offset) +
                                     ": it falls inside the batch of offsets " + std::to_string(h.base_offset) + ".." +
                                     std::to_string(h.last_offset()));
          return false;
        }
        return true;
      }));
  KAPPA_RETURN_IF_ERROR(straddle);
  if (cut == UINT64_MAX) cut = stop.position;  // a torn tail past the valid batches goes too
  KAPPA_ASSIGN_OR_RETURN(uint64_t size, file_size(fd.get(), log));
  if (cut < size) KAPPA_RETURN_IF_ERROR(cut_segment_file(io, &fd, log, cut));
  // The cut segment is the active one now: indexes without a seal entry.
  offset_index index;
  time_index times;
  return rebuild_indexes(io, dir, base, max_batch_bytes, &index, &times, false);
}

}  // namespace kappa
