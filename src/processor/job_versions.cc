#include "processor/job_versions.h"

#include "processor/job_options.h"

namespace kappa {

std::string version_topic(const std::string& base, int32_t n) { return base + ".v" + std::to_string(n); }
std::string version_group(const std::string& job, int32_t n) { return "job:" + job + ":v" + std::to_string(n); }

Result<session_job_options> version_options(data_dir& dd, const job_record& j, const job_version& v) {
  KAPPA_ASSIGN_OR_RETURN(session_job_options o, job_options_from(v.options));
  o.output = version_topic(j.base, v.number);
  if (!o.late_output.empty()) o.late_output = version_topic(o.late_output, v.number);
  o.group = version_group(j.name, v.number);
  if (v.number > 1) o.from_latest = false;  // a reprocessed version replays from earliest
  if (auto t = dd.resolve_topic(o.input); t.ok() && !t->config.get("archive.dir").empty()) o.read_archive = true;
  return o;
}

Status mark_caught_up(data_dir& dd, const std::string& job, int32_t number) {
  return dd.catalog()->modify_job(job, [&](job_record& j, std::string*) {
    if (number <= static_cast<int32_t>(j.versions.size())) j.versions[number - 1].caught_up = true;
    return Status::OK();
  });
}

}  // namespace kappa
