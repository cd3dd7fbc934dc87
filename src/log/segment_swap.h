// Replacing sealed segments on disk, crash-safely: compaction's swap of a
// group of segments for one cleaned segment, its completion after a crash,
// and the removal of a whole segment. The protocol is in kappa/log/format.h.
// REQUIRES for all: the caller holds the partition's cleaner lock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kappa/status.h"

namespace kappa {

// Removes one segment: its .log first (after that the segment is gone for
// readers), then its indexes. Missing files are fine.
Status remove_segment(const std::string& dir, int64_t base);

// Swaps in the cleaned segment written (and fsynced) as group[0].*.cleaned
// for the segments `group` (consecutive, ascending).
Status swap_in_cleaned(const std::string& dir, const std::vector<int64_t>& group);

// Undoes a swap that has not committed: removes the manifest first, then
// the .cleaned files (the .log last), so a crash midway never leaves a
// state that looks committed.
Status abandon_swap(const std::string& dir, int64_t base);

// Finishes swaps a crash interrupted after their commit point and undoes
// those interrupted before it. Appends a line per repair.
Status finish_interrupted_swaps(const std::string& dir, const std::string& what, std::vector<std::string>* notes);

}  // namespace kappa
