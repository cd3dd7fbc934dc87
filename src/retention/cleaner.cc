#include "retention/cleaner.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "io/file.h"
#include "kappa/log/format.h"
#include "kappa/retention.h"
#include "log/offset_index.h"
#include "log/record_batch.h"
#include "log/segment.h"
#include "log/segment_name.h"
#include "log/segment_swap.h"
#include "log/time_index.h"
#include "retention/key_map.h"
#include "util/big_endian.h"
#include "util/crc32c.h"

namespace kappa {
namespace {

constexpr int64_t kNone = -1;

struct checkpoint {
  int64_t first_dirty = kNone;       // records below it were compacted
  int64_t tombstone_expiry = kNone;  // when the earliest kept tombstone is due
};

checkpoint read_checkpoint(const std::string& dir) {
  std::string s;
  checkpoint cp;
  if (!read_small_file(dir + "/" + format::kCleanerCheckpointFile, &s, 4096).ok()) return cp;
  long long a = 0, b = 0;
  // A damaged checkpoint only costs a full pass: everything counts as dirty.
  if (std::sscanf(s.c_str(), "%lld %lld", &a, &b) == 2 && a >= 0) cp = {a, b};
  return cp;
}

Status write_checkpoint(const std::string& dir, const checkpoint& cp) {
  std::string path = dir + "/" + format::kCleanerCheckpointFile;
  KAPPA_RETURN_IF_ERROR(rewrite_file(
      path + ".tmp", std::to_string(cp.first_dirty) + " " + std::to_string(cp.tombstone_expiry) + "\n", true));
  KAPPA_RETURN_IF_ERROR(rename_file(path + ".tmp", path));
  return sync_dir(dir);
}

// Writes the surviving records of a group of segments into B0.log.cleaned
// and its indexes.
class group_writer {
 public:
  group_writer(const std::string& dir, int64_t base) : dir_(dir), base_(base), index_(base), times_(base) {
    buf_.resize(1 << 20);
  }

  Status open() {
    path_ = segment_path(dir_, base_, format::kLogSuffix) + format::kCleanedSuffix;
    KAPPA_ASSIGN_OR_RETURN(fd_, open_file(path_, O_WRONLY | O_CREAT | O_TRUNC));
    return Status::OK();
  }

  // Room for a batch of up to n bytes at the end of the buffer.
  Result<char*> reserve(size_t n) {
    if (used_ + n > buf_.size()) {
      KAPPA_RETURN_IF_ERROR(flush());
      if (n > buf_.size()) buf_.resize(n);
    }
    return buf_.data() + used_;
  }
  // The batch written at the reserved place is complete.
  void commit(const batch_header& h) {
    builder_.add(h, written_ + used_);
    used_ += h.total_size();
  }

  Status finish() {
    KAPPA_RETURN_IF_ERROR(flush());
    if (::fdatasync(fd_.get()) != 0) return Status::FromErrno("fdatasync " + path_, errno);
    builder_.seal();
    KAPPA_RETURN_IF_ERROR(
        rewrite_file(segment_path(dir_, base_, format::kIndexSuffix) + format::kCleanedSuffix, index_.encode(), true));
    return rewrite_file(segment_path(dir_, base_, format::kTimeIndexSuffix) + format::kCleanedSuffix, times_.encode(),
                        true);
  }
  uint64_t size() const { return written_ + used_; }

 private:
  Status flush() {
    for (size_t done = 0; done < used_;) {
      ssize_t w = ::pwrite(fd_.get(), buf_.data() + done, used_ - done, static_cast<off_t>(written_ + done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Status::FromErrno("write " + path_, errno);
      done += static_cast<size_t>(w);
    }
    written_ += used_;
    used_ = 0;
    return Status::OK();
  }

  std::string dir_, path_;
  int64_t base_;
  unique_fd fd_;
  std::vector<char> buf_;
  size_t used_ = 0;
  uint64_t written_ = 0;
  offset_index index_;
  time_index times_;
  index_builder builder_{&index_, &times_};
};

struct pass {
  io_backend& io;
  std::string dir, name;
  const partition_options& o;
  int64_t now;
  size_t max_batch;
  key_map map;
  int64_t end = 0;  // records at or past it were not mapped: kept as they are
  int64_t expiry = kNone;
  clean_result result;
  struct span {
    const char* p;
    size_t n;
  };
  std::vector<span> kept;  // reused per batch
  batch_records recs;      // a batch's records, decompressed if need be
  std::vector<char> compressed;
  Status decode_error;  // why map_segment's scan stopped early

  Status damaged(int64_t base, const scan_stop& stop) {
    return Status::Corruption(name + ": compaction stopped: segment " + segment_path(dir, base, format::kLogSuffix) +
                              " has a damaged batch at position " + std::to_string(stop.position) + " (" +
                              (stop.why.empty() ? "incomplete batch" : stop.why) +
                              "); nothing was changed. Run `kappa verify` for details");
  }

  // Maps keys of records in [from, until) of one segment. False once full.
  Result<bool> map_segment(int64_t base, int64_t from, int64_t until) {
    KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(segment_path(dir, base, format::kLogSuffix), O_RDONLY));
    bool full = false;
    KAPPA_ASSIGN_OR_RETURN(
        scan_stop stop, scan_segment(io, fd.get(), 0, max_batch, [&](const batch_header& h, const char* b, uint64_t) {
          if (h.last_offset() < from) return true;
          if (Status st = recs.open(h, b, max_batch); !st.ok()) {
            decode_error = st;
            return false;
          }
          record_iterator it = recs.iterator(h);
          record_view r;
          while (it.next(&r) == 1) {
            if (r.offset < from || r.key.is_null()) continue;
            if (r.offset >= until) return false;
            if (!map.put(r.key, r.offset)) {
              end = r.offset;
              full = true;
              return false;
            }
          }
          return true;
        }));
    KAPPA_RETURN_IF_ERROR(std::exchange(decode_error, Status::OK()));
    if (stop.state != batch_state::ok) return damaged(base, stop);
    return !full;
  }

  bool keep(const record_view& r) {
    if (r.key.is_null()) return false;  // Kafka's cleaner drops keyless records too
    if (r.offset < end && map.get(r.key) > r.offset) return false;
    if (r.value.is_null()) {
      if (r.offset < end && now - r.timestamp >= o.delete_retention_ms) return false;
      int64_t due = r.timestamp > INT64_MAX - o.delete_retention_ms ? INT64_MAX : r.timestamp + o.delete_retention_ms;
      expiry = expiry == kNone ? due : std::min(expiry, due);
    }
    return true;
  }

  Status filter_batch(const batch_header& h, const char* b, group_writer& out) {
    Status ds = recs.open(h, b, max_batch);
    if (!ds.ok())
      return Status::Corruption(name + ": compaction stopped at the batch at offset " + std::to_string(h.base_offset) +
                                ": " + ds.message());
    record_iterator it = recs.iterator(h);
    record_view r;
    kept.clear();
    int64_t max_ts = -1, last_delta = 0;
    const char* begin = it.cursor();
    int rc;
    while ((rc = it.next(&r)) == 1) {
      if (keep(r)) {
        kept.push_back({begin, static_cast<size_t>(it.cursor() - begin)});
        max_ts = std::max(max_ts, r.timestamp);
        last_delta = r.offset - h.base_offset;
      } else {
        result.records_removed++;
      }
      begin = it.cursor();
    }
    if (rc < 0)
      return Status::Corruption(name + ": compaction stopped at a malformed record in the batch at offset " +
                                std::to_string(h.base_offset) + ": " + it.error());
    if (kept.empty()) return Status::OK();
    // Room for the kept records uncompressed (a compressed batch's may be
    // larger than the batch itself).
    size_t room = format::kBatchHeaderSize + static_cast<size_t>(recs.end() - recs.begin());
    KAPPA_ASSIGN_OR_RETURN(char* dst, out.reserve(std::max(h.total_size(), room)));
    if (kept.size() == static_cast<size_t>(h.record_count)) {
      std::memcpy(dst, b, h.total_size());
      out.commit(h);
      return Status::OK();
    }
    // The same batch with fewer records: base offset and base timestamp
    // stay, so each kept record's bytes (deltas included) stay valid. The
    // header's last offset becomes the last kept record's: Kafka keeps the
    // original one for idempotent producers' sequence numbers, and kappa
    // writes no producer ids, so its batches describe what they hold.
    std::memcpy(dst, b, format::kBatchHeaderSize);
    char* p = dst + format::kBatchHeaderSize;
    for (const auto& s : kept) {
      std::memcpy(p, s.p, s.n);
      p += s.n;
    }
    size_t total = static_cast<size_t>(p - dst);
    batch_header nh = h;
    nh.batch_length = static_cast<int32_t>(total - format::kLogOverhead);
    nh.last_offset_delta = static_cast<int32_t>(last_delta);
    nh.max_timestamp = max_ts;
    nh.record_count = static_cast<int32_t>(kept.size());
    be::store32(dst + format::kBatchLengthOffset, static_cast<uint32_t>(nh.batch_length));
    be::store32(dst + format::kLastOffsetDeltaOffset, static_cast<uint32_t>(nh.last_offset_delta));
    be::store64(dst + format::kMaxTimestampOffset, static_cast<uint64_t>(nh.max_timestamp));
    be::store32(dst + format::kRecordCountOffset, static_cast<uint32_t>(nh.record_count));
    // Written uncompressed, then compressed again with the batch's own
    // codec, as Kafka's cleaner does.
    nh.attributes = static_cast<int16_t>(h.attributes & ~format::kCompressionMask);
    be::store16(dst + format::kAttributesOffset, static_cast<uint16_t>(nh.attributes));
    be::store32(dst + format::kCrcOffset, crc32c(dst + format::kCrcCoveredStart, total - format::kCrcCoveredStart));
    if (auto c = static_cast<codec>(h.attributes & format::kCompressionMask); c != codec::none) {
      KAPPA_ASSIGN_OR_RETURN(total, compress_batch(dst, total, c, &compressed));
      parse_batch_header(dst, total, &nh);
    }
    out.commit(nh);
    return Status::OK();
  }

  // Filters one segment's batches into `out`.
  Status clean_into(const segment_stat& s, group_writer& out) {
    KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(segment_path(dir, s.base_offset, format::kLogSuffix), O_RDONLY));
    Status st;
    KAPPA_ASSIGN_OR_RETURN(
        scan_stop stop, scan_segment(io, fd.get(), 0, max_batch, [&](const batch_header& h, const char* b, uint64_t) {
          st = filter_batch(h, b, out);
          return st.ok();
        }));
    KAPPA_RETURN_IF_ERROR(st);
    if (stop.state != batch_state::ok) return damaged(s.base_offset, stop);
    return Status::OK();
  }

  // Cleans segs[i, ...) into one new segment while what it holds so far
  // plus the next input still fits one segment (a segment's survivors never
  // outgrow it), so small cleaned segments merge. Returns the next index.
  Result<size_t> clean_group(const std::vector<segment_stat>& segs, size_t i, size_t limit) {
    group_writer out(dir, segs[i].base_offset);
    // A failure before the swap (a full disk, say) leaves nothing behind.
    auto abandon = [&](const Status& st) {
      (void)abandon_swap(dir, segs[i].base_offset);
      return st;
    };
    if (Status st = out.open(); !st.ok()) return abandon(st);
    std::vector<int64_t> bases;
    uint64_t in_bytes = 0;
    int64_t removed_before = result.records_removed;
    size_t j = i;
    do {
      if (Status st = clean_into(segs[j], out); !st.ok()) return abandon(st);
      bases.push_back(segs[j].base_offset);
      in_bytes += segs[j].log_bytes;
      j++;
    } while (j < limit && segs[j].base_offset < end && out.size() + segs[j].log_bytes <= o.segment_bytes &&
             segs[j + 1].base_offset - 1 - segs[i].base_offset <= INT32_MAX);
    if (bases.size() == 1 && result.records_removed == removed_before) {
      // Nothing to drop and nothing to merge: leave the segment as it is.
      KAPPA_RETURN_IF_ERROR(abandon_swap(dir, segs[i].base_offset));
      return j;
    }
    if (out.size() == 0 && i > 0) {
      // Every record was superseded: the segments go. (The first segment
      // stays, even empty, so that compaction never moves the log start.)
      KAPPA_RETURN_IF_ERROR(abandon_swap(dir, segs[i].base_offset));
      for (int64_t b : bases) KAPPA_RETURN_IF_ERROR(remove_segment(dir, b));
      KAPPA_RETURN_IF_ERROR(sync_dir(dir));
    } else {
      if (Status st = out.finish(); !st.ok()) return abandon(st);
      KAPPA_RETURN_IF_ERROR(swap_in_cleaned(dir, bases));
    }
    result.segments_cleaned += static_cast<int32_t>(bases.size());
    result.bytes_freed += in_bytes - std::min(in_bytes, out.size());
    return j;
  }
};

}  // namespace

Result<clean_result> compact_partition(io_backend& io, const std::string& dir, const std::string& name,
                                       const partition_options& o, int64_t now, size_t key_map_bytes) {
  KAPPA_ASSIGN_OR_RETURN(auto segs, stat_segments(dir));
  if (segs.size() < 2) return clean_result{};
  // Segments [0, uncleanable) may be compacted: sealed, and old enough.
  size_t uncleanable = segs.size() - 1;
  if (o.min_compaction_lag_ms > 0)
    for (size_t i = 0; i < uncleanable; i++)
      if (now - segs[i].newest_timestamp < o.min_compaction_lag_ms) {
        uncleanable = i;
        break;
      }
  if (uncleanable == 0) return clean_result{};
  int64_t first_uncleanable = segs[uncleanable].base_offset;
  checkpoint cp = read_checkpoint(dir);
  int64_t first_dirty = std::clamp(cp.first_dirty, segs[0].base_offset, first_uncleanable);

  uint64_t clean_bytes = 0, dirty_bytes = 0;
  for (size_t i = 0; i < uncleanable; i++) {
    bool dirty = i + 1 < segs.size() && segs[i + 1].base_offset > first_dirty;
    (dirty ? dirty_bytes : clean_bytes) += segs[i].log_bytes;
  }
  bool dirty_enough =
      dirty_bytes > 0 &&
      static_cast<double>(dirty_bytes) >= o.min_cleanable_dirty_ratio * static_cast<double>(clean_bytes + dirty_bytes);
  bool tombstones_due = cp.tombstone_expiry != kNone && cp.tombstone_expiry <= now;
  if (!dirty_enough && !tombstones_due) return clean_result{};

  pass p{io,
         dir,
         name,
         o,
         now,
         readable_batch_limit(o.max_message_bytes),
         key_map(key_map_bytes),
         first_uncleanable,
         kNone,
         clean_result{},
         {},
         {},
         {},
         {}};
  for (size_t i = 0; i < uncleanable; i++) {
    if (segs[i + 1].base_offset <= first_dirty) continue;  // wholly clean
    KAPPA_ASSIGN_OR_RETURN(bool room, p.map_segment(segs[i].base_offset, first_dirty, first_uncleanable));
    if (!room) break;
  }
  // Rewrite the segments that hold mapped records, in groups.
  for (size_t i = 0; i < uncleanable && segs[i].base_offset < p.end;) {
    KAPPA_ASSIGN_OR_RETURN(i, p.clean_group(segs, i, uncleanable));
  }
  KAPPA_RETURN_IF_ERROR(write_checkpoint(dir, checkpoint{p.end, p.expiry}));
  return p.result;
}

}  // namespace kappa
