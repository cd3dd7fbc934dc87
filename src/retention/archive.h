// The archive tier: segments leaving retention move to a second directory
// (typically a big slow disk) with their indexes, instead of being deleted.
#pragma once

#include <cstdint>
#include <string>

#include "kappa/status.h"

namespace kappa {

// Moves segment `base` from `dir` to `archive_dir`: each file is copied as
// <name>.archiving, fsynced and renamed; only then is the segment removed
// from `dir`. A crash leaves it in one place or both (readers prefer the
// live copy, and the next move simply repeats). REQUIRES: cleaner lock.
Status archive_segment(const std::string& dir, const std::string& archive_dir, int64_t base);

// Removes .archiving leftovers of an interrupted move.
Status clean_archive_leftovers(const std::string& archive_dir);

}  // namespace kappa
