#include "processor/job_status.h"

#include <algorithm>

#include "kappa/log.h"
#include "processor/idle_clock.h"
#include "processor/job_versions.h"
#include "util/clock.h"

namespace kappa {

Result<version_status> status_of(data_dir& dd, const job_record& j, const job_version& v) {
  KAPPA_ASSIGN_OR_RETURN(session_job_options o, version_options(dd, j, v));
  version_status vs;
  vs.v = &v;
  vs.output = o.output;
  vs.group = o.group;
  vs.pid = session_job::running_pid(dd, o.group);
  // The topic it was checkpointed reading (the alias may have moved since).
  auto def = dd.catalog()->job_definition_of(o.group);
  if (!def.ok() && !def.status().is_not_found()) return def.status();
  KAPPA_ASSIGN_OR_RETURN(topic_meta input, def.ok() ? dd.topic(def->input) : dd.resolve_topic(o.input));
  vs.input = input.name;
  KAPPA_ASSIGN_OR_RETURN(auto cps, dd.catalog()->checkpoints(o.group));
  int64_t now = wall_clock_ms();
  for (int32_t p = 0; p < input.partitions; p++) {
    partition_status ps;
    ps.partition = p;
    KAPPA_ASSIGN_OR_RETURN(auto r, dd.open_reader(input, p, o.read_archive));
    KAPPA_ASSIGN_OR_RETURN(ps.log_end, r->log_end_offset());
    int64_t start = r->log_start_offset();
    ps.lag = ps.log_end - start;  // never run: all of it is still to do
    for (const auto& cp : cps) {
      if (cp.partition != p) continue;
      ps.checkpointed = true;
      ps.committed = cp.input_next;
      ps.lag = std::max<int64_t>(0, ps.log_end - std::max(cp.input_next, start));
      ps.watermark = cp.watermark;
      ps.open_sessions = cp.open_sessions;
      ps.checkpoint_ms = cp.time_ms;
      idle_clock idle(o.idle_timeout_ms);
      idle.restore(cp.last_record_timestamp, cp.record_watermark);
      if (int64_t since = idle.idle_since(); idle.enabled() && ps.lag == 0 && since != idle_clock::kNone && since < now)
        ps.idle_since = since;
      if (cp.time_ms > cp.run_started_ms && cp.run_started_ms > 0)
        ps.events_per_s =
            static_cast<double>(cp.run_events) * 1000.0 / static_cast<double>(cp.time_ms - cp.run_started_ms);
    }
    vs.lag += ps.lag;
    vs.parts.push_back(ps);
  }
  return vs;
}

}  // namespace kappa
