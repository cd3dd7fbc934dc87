// A consumer group's lag on one partition, as `kappa group describe` shows
// it and `kappa serve --metrics` exports it: in records (Kafka's: log end
// minus committed) and in time (the age of the oldest unconsumed record,
// 0 when caught up).
#pragma once

#include <cstdint>

#include "kappa/catalog.h"
#include "kappa/data_dir.h"
#include "kappa/status.h"

namespace kappa {

struct group_lag {
  group_offset g;
  int64_t end = 0;  // the partition's log end offset; -1 if the topic was deleted since the commit
  int64_t lag = 0;
  int64_t lag_ms = 0;
};

// Reads the partition's log end and, when behind, the record at the
// committed offset (one record: cheap enough to do at scrape time).
Result<group_lag> group_lag_of(data_dir& dd, const group_offset& g, int64_t now_ms);

}  // namespace kappa
