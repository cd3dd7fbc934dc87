#include "log/recovery.h"

#include <fcntl.h>

#include "io/file.h"
#include "kappa/log/format.h"
#include "log/partition_lock.h"
#include "log/segment_map.h"
#include "log/segment_name.h"
#include "log/segment_swap.h"

namespace kappa {

static constexpr size_t kIndexFileLimit = 64u << 20;

// Loads a sealed segment's indexes; rebuilds them when missing or damaged.
static Status check_sealed_segment(io_backend& io, const std::string& dir, const std::string& what, int64_t base,
                                   int64_t next_base, size_t max_batch_bytes, recovery_report* report) {
  std::string log = segment_path(dir, base, format::kLogSuffix);
  KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(log, O_RDONLY));
  KAPPA_ASSIGN_OR_RETURN(uint64_t log_size, file_size(fd.get(), log));
  std::string ib, tb;
  Status si = read_small_file(segment_path(dir, base, format::kIndexSuffix), &ib, kIndexFileLimit);
  Status st = read_small_file(segment_path(dir, base, format::kTimeIndexSuffix), &tb, kIndexFileLimit);
  bool ok_i = false, ok_t = false;
  if (si.ok()) offset_index::decode(base, ib, log_size, &ok_i);
  if (st.ok()) time_index::decode(base, tb, next_base, &ok_t);
  if (si.ok() && st.ok() && ok_i && ok_t) return Status::OK();
  offset_index idx;
  time_index times;
  KAPPA_RETURN_IF_ERROR(rebuild_indexes(io, dir, base, max_batch_bytes, &idx, &times, true));
  report->notes.push_back(what + ": rebuilt the " + (si.ok() && st.ok() ? "inconsistent" : "missing") +
                          " indexes of segment " + segment_stem(base) + format::kLogSuffix);
  return Status::OK();
}

Status recover_sealed(io_backend& io, const std::string& dir, const std::string& what, size_t max_batch_bytes,
                      recovery_report* report) {
  KAPPA_RETURN_IF_ERROR(finish_interrupted_swaps(dir, what, &report->notes));
  // Names before segments: a writer rolling meanwhile creates a .log before
  // its indexes, so an index listed here has its .log in the later list.
  KAPPA_ASSIGN_OR_RETURN(auto names, list_dir(dir));
  KAPPA_ASSIGN_OR_RETURN(auto bases, list_segments(dir));
  for (const auto& n : names) {
    auto b = parse_segment_name(n, format::kIndexSuffix);
    if (!b) b = parse_segment_name(n, format::kTimeIndexSuffix);
    if (b && !std::binary_search(bases.begin(), bases.end(), *b)) KAPPA_RETURN_IF_ERROR(remove_file(dir + "/" + n));
  }
  for (size_t i = 0; i + 1 < bases.size(); i++)
    KAPPA_RETURN_IF_ERROR(check_sealed_segment(io, dir, what, bases[i], bases[i + 1], max_batch_bytes, report));
  return Status::OK();
}

Status recover_partition(io_backend& io, const std::string& dir, const std::string& what, size_t max_batch_bytes,
                         active_segment* a, recovery_report* report) {
  {
    // Sealed segments belong to whoever holds the cleaner lock; if another
    // process is cleaning now, it owns them and they are left alone.
    partition_lock cleaner = partition_lock::try_acquire_cleaner(dir);
    if (cleaner.held()) KAPPA_RETURN_IF_ERROR(recover_sealed(io, dir, what, max_batch_bytes, report));
  }
  KAPPA_ASSIGN_OR_RETURN(auto bases, list_segments(dir));
  if (bases.empty()) {
    a->start(0);
    return Status::OK();
  }
  // The active segment: trust its index up to the last entry that points at
  // a valid batch, then scan from there and cut at the first bad batch.
  int64_t base = bases.back();
  std::string log = segment_path(dir, base, format::kLogSuffix);
  KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(log, O_RDWR));
  KAPPA_ASSIGN_OR_RETURN(uint64_t log_size, file_size(fd.get(), log));
  std::string ib, tb;
  bool ok_i = false, ok_t = false;
  bool have_i = read_small_file(segment_path(dir, base, format::kIndexSuffix), &ib, kIndexFileLimit).ok();
  bool have_t = read_small_file(segment_path(dir, base, format::kTimeIndexSuffix), &tb, kIndexFileLimit).ok();
  a->base_offset = base;
  a->index = offset_index::decode(base, ib, log_size, &ok_i);
  a->times = time_index::decode(base, tb, INT64_MAX, &ok_t);

  uint64_t start = 0;
  int64_t start_base = base;  // first offset of the batch at `start`
  std::vector<char> hdr(format::kBatchHeaderSize);
  while (!a->index.empty()) {
    const auto& e = a->index.entries().back();
    batch_header h;
    auto got = io.read(fd.get(), hdr.data(), hdr.size(), e.position);
    if (got.ok() && got.value() == hdr.size() && parse_batch_header(hdr.data(), hdr.size(), &h) &&
        h.base_offset <= e.offset && e.offset <= h.last_offset()) {
      start = e.position;
      start_base = h.base_offset;
      break;
    }
    a->index.truncate_to_position(e.position);
  }
  // Re-derive everything from `start` on; entries before it stay.
  a->index.truncate_to_position(start);
  a->times.truncate_to_offset(start_base);
  a->builder = index_builder{&a->index, &a->times};
  a->builder.bytes_since_entry = start > 0 ? format::kIndexIntervalBytes + 1 : 0;
  if (!a->times.empty()) {
    a->builder.max_timestamp = a->times.entries().back().timestamp;
    a->builder.offset_of_max = a->times.entries().back().offset;
  }
  int64_t next = start_base;
  auto stop = scan_segment(io, fd.get(), start, max_batch_bytes, [&](const batch_header& h, const char*, uint64_t pos) {
    if (h.base_offset < next) return false;  // overlapping offsets: treat as the damage point
    a->builder.add(h, pos);
    next = h.last_offset() + 1;
    return true;
  });
  if (!stop.ok()) return stop.status();
  uint64_t valid_end = stop->position;
  if (valid_end < log_size) {
    std::string why = stop->state == batch_state::corrupt      ? stop->why
                      : stop->state == batch_state::incomplete ? "incomplete batch"
                                                               : "overlapping offsets";
    report->notes.push_back(what + ": recovered segment " + segment_stem(base) + format::kLogSuffix +
                            " by truncating " + std::to_string(log_size - valid_end) + " bytes at position " +
                            std::to_string(valid_end) + " (" + why + "); the log ends at offset " +
                            std::to_string(next));
    KAPPA_RETURN_IF_ERROR(cut_segment_file(io, &fd, log, valid_end));
  }
  // The first batch's max timestamp drives time-based rolling.
  if (valid_end > 0) {
    batch_header h;
    auto got = io.read(fd.get(), hdr.data(), hdr.size(), 0);
    if (got.ok() && got.value() == hdr.size() && parse_batch_header(hdr.data(), hdr.size(), &h))
      a->first_batch_max_ts = h.max_timestamp;
  }
  a->size = valid_end;
  a->next_offset = next;
  std::string new_ib = a->index.encode(), new_tb = a->times.encode();
  auto write_index = [&](const char* suffix, const std::string& bytes) -> Status {
    Status st = rewrite_file(segment_path(dir, base, suffix), bytes, false);
    if (st.ok() || !report->indexes_best_effort) return st;
    report->notes.push_back(what + ": could not rewrite an index (" + st.message() + "); reading without it");
    return Status::OK();
  };
  if (new_ib != ib || !have_i) KAPPA_RETURN_IF_ERROR(write_index(format::kIndexSuffix, new_ib));
  if (new_tb != tb || !have_t) KAPPA_RETURN_IF_ERROR(write_index(format::kTimeIndexSuffix, new_tb));
  a->index_on_disk = a->index.entries().size();
  a->times_on_disk = a->times.entries().size();
  return Status::OK();
}

}  // namespace kappa
