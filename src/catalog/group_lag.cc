#include "catalog/group_lag.h"

#include <algorithm>

#include "kappa/log.h"

namespace kappa {

Result<group_lag> group_lag_of(data_dir& dd, const group_offset& g, int64_t now_ms) {
  group_lag row{g};
  auto topic = dd.topic(g.topic);
  if (!topic.ok() && topic.status().is_not_found()) {
    row.end = -1;  // the topic was deleted since the commit: nothing to lag behind
    return row;
  }
  KAPPA_ASSIGN_OR_RETURN(topic_meta t, std::move(topic));
  if (g.partition >= t.partitions) return row;
  KAPPA_ASSIGN_OR_RETURN(auto r, dd.open_reader(t, g.partition));
  KAPPA_ASSIGN_OR_RETURN(row.end, r->log_end_offset());
  row.lag = std::max<int64_t>(0, row.end - g.offset);
  if (row.lag > 0) {
    KAPPA_RETURN_IF_ERROR(r->seek(g.offset));
    record_view rec;
    KAPPA_ASSIGN_OR_RETURN(auto st, r->next(&rec));
    if (st == partition_reader::status::record) row.lag_ms = std::max<int64_t>(0, now_ms - rec.timestamp);
  }
  return row;
}

}  // namespace kappa
