// A partition's segments with their sizes and newest timestamps: the facts
// retention, compaction and the disk budget decide on.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file.h"
#include "kappa/log/format.h"
#include "kappa/retention.h"
#include "log/segment.h"
#include "log/segment_name.h"
#include "util/big_endian.h"

namespace kappa {

static uint64_t size_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// The timestamp of a time index's last entry (only those 12 bytes are
// read), or -1.
static int64_t last_time_index_timestamp(const std::string& path) {
  auto fd = open_file(path, O_RDONLY);
  if (!fd.ok()) return -1;
  struct stat st;
  if (::fstat(fd->get(), &st) != 0 || st.st_size < static_cast<off_t>(format::kTimeIndexEntrySize)) return -1;
  char e[format::kTimeIndexEntrySize];
  off_t at = (st.st_size / format::kTimeIndexEntrySize - 1) * format::kTimeIndexEntrySize;
  if (::pread(fd->get(), e, sizeof e, at) != static_cast<ssize_t>(sizeof e)) return -1;
  return static_cast<int64_t>(be::load64(e));
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
    s.newest_timestamp = last_time_index_timestamp(times_path);
    if (s.newest_timestamp < 0) {
      auto m = file_mtime_ms(log);
      if (m.ok()) s.newest_timestamp = m.value();
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace kappa
