// A job's versions (SPEC section 6): version N of job NAME writes
// BASE.vN under the consumer group job:NAME:vN, so a new version never
// inherits an old one's offsets. What `kappa job` and `kappa serve --jobs`
// both need to run one.
#pragma once

#include <cstdint>
#include <string>

#include "kappa/catalog.h"
#include "kappa/data_dir.h"
#include "kappa/session_job.h"

namespace kappa {

std::string version_topic(const std::string& base, int32_t n);
std::string version_group(const std::string& job, int32_t n);

// A version's options as the job runner takes them: its own output, late
// output and group, and the archive tier read first when the input has one.
Result<session_job_options> version_options(data_dir& dd, const job_record& j, const job_version& v);

// Records that a version's run reached the log end (it is then finished
// as far as reprocess is concerned).
Status mark_caught_up(data_dir& dd, const std::string& job, int32_t number);

}  // namespace kappa
