// Where a job's versions stand (`kappa job status`, `kappa serve --metrics`):
// per input partition, the version's checkpoint against the input's log end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kappa/catalog.h"
#include "kappa/data_dir.h"
#include "kappa/session_job.h"
#include "kappa/status.h"

namespace kappa {

struct partition_status {
  int32_t partition = 0;
  bool checkpointed = false;
  int64_t committed = -1, log_end = 0, lag = 0, watermark = INT64_MIN, checkpoint_ms = 0;
  uint64_t open_sessions = 0;
  double events_per_s = 0;
  // With --idle-timeout: since when the partition has been idle (its last
  // record's timestamp + the timeout, passed with nothing after it), else INT64_MIN.
  int64_t idle_since = INT64_MIN;
};

struct version_status {
  const job_version* v = nullptr;  // points into the job_record passed to status_of
  std::string error;               // why its state cannot be read (its input is gone, say)
  std::string input, output, group;
  int pid = 0;
  int64_t lag = 0;
  std::vector<partition_status> parts;
};

// Where a version stands: its checkpoints against the input's log end (a
// partition never checkpointed lags by all of its records).
Result<version_status> status_of(data_dir& dd, const job_record& j, const job_version& v);

}  // namespace kappa
