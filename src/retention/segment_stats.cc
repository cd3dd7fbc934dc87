// A partition's segments with their sizes and newest timestamps: the facts
// retention, compaction and the disk budget decide on.
#include <sys/stat.h>

#include "io/file.h"
#include "kappa/log/format.h"
#include "kappa/retention.h"
#include "log/segment.h"
#include "log/segment_name.h"
#include "log/time_index.h"

namespace kappa {

static uint64_t size_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

Result<std::vector<segment_stat>> stat_segments(const std::string& dir) {
  std::vector<segment_stat> out;
  if (!path_exists(dir)) return out;
  KAPPA_ASSIGN_OR_RETURN(auto bases, list_segments(dir));
  for (int64_t base : bases) {
    segment_stat s;
    s.base_offset = base;
    std::string log = segment_path(dir, base, format::kLogSuffix);
    s.log_bytes = size_of(log);
    std::string times_path = segment_path(dir, base, format::kTimeIndexSuffix);
    s.index_bytes = size_of(segment_path(dir, base, format::kIndexSuffix)) + size_of(times_path);
    // A sealed segment's time index ends with its newest timestamp (Kafka
    // writes it when the segment rolls); without one Kafka uses the mtime.
    std::string tb;
    if (s.index_bytes > 0 && read_small_file(times_path, &tb, 64u << 20).ok()) {
      bool consistent;
      time_index t = time_index::decode(base, tb, INT64_MAX, &consistent);
      if (!t.empty()) s.newest_timestamp = t.entries().back().timestamp;
    }
    if (s.newest_timestamp < 0) {
      auto m = file_mtime_ms(log);
      if (m.ok()) s.newest_timestamp = m.value();
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace kappa
