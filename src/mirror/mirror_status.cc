// kappa mirror status: each source partition's stored progress against the
// source's end. A --to mirror's source is the local log, read now; a --from
// mirror's is the cluster, as the mirror last saw it (status never
// connects: it answers at once, the link up or down).
#include <algorithm>
#include <map>

#include "kappa/mirror.h"
#include "mirror/topic_filter.h"
#include "util/clock.h"

namespace kappa {

using namespace mirror_detail;

namespace {

// Age of the record at `offset` of a local partition (0 if there is none).
int64_t age_at(data_dir& dd, const topic_meta& t, int32_t partition, int64_t offset, int64_t now) {
  auto r = dd.open_reader(t, partition);
  if (!r.ok() || !r.value()->seek(offset).ok()) return 0;
  record_view rec;
  auto st = r.value()->next(&rec);
  if (!st.ok() || st.value() != partition_reader::status::record) return 0;
  return std::max<int64_t>(0, now - rec.timestamp);
}

}  // namespace

Result<std::vector<mirror_partition_status>> mirror::status(data_dir& dd, const mirror_record& m) {
  std::vector<mirror_partition_status> out;
  if (!dd.catalog()) return out;
  KAPPA_ASSIGN_OR_RETURN(auto progress, dd.catalog()->mirror_progress_of(m.name));
  std::map<std::pair<std::string, int32_t>, const mirror_progress*> by_partition;
  for (const auto& p : progress) by_partition[{p.topic, p.partition}] = &p;
  int64_t now = wall_clock_ms();

  auto from_progress = [&](const mirror_progress& p) {
    mirror_partition_status s;
    s.topic = p.topic;
    s.partition = p.partition;
    s.committed_offset = p.next;
    s.log_end_offset = p.source_end;
    s.last_error = p.last_error;
    s.lost = p.lost;
    return s;
  };

  if (m.to) {
    KAPPA_ASSIGN_OR_RETURN(topic_filter filter, topic_filter::parse(m.topics));
    KAPPA_ASSIGN_OR_RETURN(auto topics, dd.catalog()->list_topics());
    for (const auto& t : topics) {
      if (!filter.matches(t.name)) continue;
      for (int32_t part = 0; part < t.partitions; part++) {
        auto it = by_partition.find({t.name, part});
        mirror_partition_status s;
        bool started = it != by_partition.end();
        if (started) {
          s = from_progress(*it->second);
          by_partition.erase(it);
        } else {
          s.topic = t.name;
          s.partition = part;
        }
        auto r = dd.open_reader(t, part);
        if (!r.ok()) {
          if (s.last_error.empty()) s.last_error = r.status().message();
          out.push_back(std::move(s));
          continue;
        }
        int64_t start = r.value()->log_start_offset();
        auto end = r.value()->log_end_offset();
        s.log_end_offset = end.ok() ? end.value() : -1;
        // Not started yet: it begins at the log start (or, with --start
        // latest, at the end, so nothing lags).
        if (!started) s.committed_offset = m.from_latest ? std::max<int64_t>(s.log_end_offset, 0) : start;
        int64_t from = std::max(s.committed_offset, start);
        s.lag = std::max<int64_t>(0, s.log_end_offset - from);
        if (s.lag > 0) s.lag_ms = age_at(dd, t, part, from, now);
        out.push_back(std::move(s));
      }
    }
    // Progress of topics that are gone (deleted since): shown as they were.
    for (const auto& [key, p] : by_partition) out.push_back(from_progress(*p));
  } else {
    for (const auto& p : progress) {
      mirror_partition_status s = from_progress(p);
      s.lag = s.log_end_offset >= 0 ? std::max<int64_t>(0, s.log_end_offset - s.committed_offset) : 0;
      if (s.lag > 0 && p.next_ts >= 0) s.lag_ms = std::max<int64_t>(0, now - p.next_ts);
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
  });
  return out;
}

}  // namespace kappa
