// One maintenance pass over a partition: finish what a crash interrupted,
// apply delete retention (to the archive tier if there is one), compact.
#include "io/file.h"
#include "kappa/retention.h"
#include "log/partition_lock.h"
#include "log/recovery.h"
#include "log/segment.h"
#include "log/segment_swap.h"
#include "retention/archive.h"
#include "retention/cleaner.h"

namespace kappa {

// Takes a sealed segment out of the partition: to the archive tier if the
// partition has one, else deleted.
static Status retire(const std::string& dir, const partition_options& o, const segment_stat& s,
                     maintenance_report* r) {
  uint64_t bytes = s.log_bytes;  // what `topic describe` counts
  if (!o.archive_dir.empty()) {
    KAPPA_RETURN_IF_ERROR(archive_segment(dir, o.archive_dir, s.base_offset));
    r->segments_archived++;
    r->bytes_archived += bytes;
    return Status::OK();
  }
  KAPPA_RETURN_IF_ERROR(remove_segment(dir, s.base_offset));
  KAPPA_RETURN_IF_ERROR(sync_dir(dir));
  r->segments_removed++;
  r->bytes_removed += bytes;
  return Status::OK();
}

// How many of the oldest segments delete retention removes (by time as
// Kafka's deleteRetentionMsBreachedSegments, then by size): never the
// active (last) one.
static size_t expired_count(const std::vector<segment_stat>& segs, const partition_options& o, int64_t now) {
  size_t sealed = segs.empty() ? 0 : segs.size() - 1, n = 0;
  if (o.retention_ms >= 0)
    while (n < sealed && now - segs[n].newest_timestamp > o.retention_ms) n++;
  if (o.retention_bytes >= 0) {
    // SPEC: while the partition exceeds retention.bytes (Kafka stops one
    // segment earlier, keeping at least retention.bytes). Applied at each
    // roll, this keeps a partition under retention.bytes plus one segment.
    int64_t total = 0;
    for (const auto& s : segs) total += static_cast<int64_t>(s.log_bytes);
    for (size_t i = 0; i < n; i++) total -= static_cast<int64_t>(segs[i].log_bytes);
    while (n < sealed && total > o.retention_bytes) total -= static_cast<int64_t>(segs[n++].log_bytes);
  }
  return n;
}

Result<maintenance_report> maintain_partition(const std::string& dir, const std::string& name,
                                              const partition_options& o, int64_t now) {
  maintenance_report r;
  if (!path_exists(dir)) return r;
  KAPPA_ASSIGN_OR_RETURN(partition_lock lock, partition_lock::acquire_cleaner(dir));
  auto io = make_io_backend();
  size_t max_batch = readable_batch_limit(o.max_message_bytes);
  recovery_report rec;
  KAPPA_RETURN_IF_ERROR(recover_sealed(*io, dir, name, max_batch, &rec));
  r.notes = std::move(rec.notes);
  if (!o.archive_dir.empty()) KAPPA_RETURN_IF_ERROR(clean_archive_leftovers(o.archive_dir));
  if (o.cleanup_delete) {
    KAPPA_ASSIGN_OR_RETURN(auto segs, stat_segments(dir));
    size_t n = expired_count(segs, o, now);
    for (size_t i = 0; i < n; i++) KAPPA_RETURN_IF_ERROR(retire(dir, o, segs[i], &r).with_context(name));
  }
  if (o.cleanup_compact) {
    auto compacted = compact_partition(*io, dir, name, o, now);
    if (!compacted.ok()) {
      const Status& st = compacted.status();
      // Corruption messages name the partition already.
      return st.is_corruption() ? st : st.with_context(name + ": compaction");
    }
    const clean_result& c = compacted.value();
    r.segments_cleaned = c.segments_cleaned;
    r.records_cleaned = c.records_removed;
    r.bytes_cleaned = c.bytes_freed;
  }
  KAPPA_ASSIGN_OR_RETURN(auto bases, list_segments(dir));
  r.log_start_offset = bases.empty() ? 0 : bases.front();
  return r;
}

Result<uint64_t> retire_oldest_segment(const std::string& dir, const std::string& name,
                                       const partition_options& o, bool wait) {
  if (!path_exists(dir)) return uint64_t{0};
  partition_lock lock;
  if (wait) {
    KAPPA_ASSIGN_OR_RETURN(lock, partition_lock::acquire_cleaner(dir));
  } else {
    lock = partition_lock::try_acquire_cleaner(dir);
    if (!lock.held()) return uint64_t{0};
  }
  // A crash may have left a swap to finish: never retire half of one.
  auto io = make_io_backend();
  recovery_report rec;
  KAPPA_RETURN_IF_ERROR(recover_sealed(*io, dir, name, readable_batch_limit(o.max_message_bytes), &rec));
  KAPPA_ASSIGN_OR_RETURN(auto segs, stat_segments(dir));
  if (segs.size() < 2) return uint64_t{0};
  maintenance_report r;
  KAPPA_RETURN_IF_ERROR(retire(dir, o, segs[0], &r).with_context(name));
  return segs[0].log_bytes + segs[0].index_bytes;
}

}  // namespace kappa
