// The write path: records are encoded straight into one of two large
// buffers; a full buffer is handed to the I/O backend while the other
// fills, so encoding overlaps the kernel's copy. Index entries follow the
// data they point at and are written after it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "io/file.h"
#include "io/io_backend.h"
#include "io/sync_files.h"
#include "kappa/log.h"
#include "log/partition_lock.h"
#include "log/record_batch.h"
#include "log/recovery.h"
#include "log/segment.h"
#include "log/segment_name.h"
#include "log/truncate.h"
#include "util/big_endian.h"
#include "util/clock.h"

namespace kappa {

// Batches are closed at this size (or max.message.bytes, or segment.bytes,
// if smaller): large enough to amortise the header and the CRC call.
static constexpr size_t kBatchTarget = 16 * 1024;

struct partition_appender::impl {
  std::string dir, name;
  partition_options opts;
  partition_lock lock;
  std::unique_ptr<io_backend> io;
  unique_fd log_fd;
  active_segment seg;
  std::vector<std::string> notes;

  std::vector<char> bufs[2];
  int cur = 0;
  size_t filled = 0;                           // bytes of closed batches in bufs[cur]
  uint64_t buf_file_pos = 0;                   // where bufs[cur][0] goes in the active segment
  uint64_t written_from = 0, written_len = 0;  // the last range handed to the backend
  batch_builder builder;
  bool batch_open = false;
  size_t batch_start = 0;
  size_t batch_target = kBatchTarget;
  size_t max_batch = 0;
  uint64_t batches_closed = 0;
  std::vector<char> compressed;  // scratch of compress_batch
  batch_records records;         // scratch of validate_batch
  bool roll_requested = false;   // by the observer (the data dir's disk budget)
  Status failed;                 // the first write or sync error, sticky

  bool active = false;
  Status activate();
  // A brief writer's lock is given back between rounds; what the active
  // segment file was then tells whether another writer came in between.
  ino_t released_ino = 0;
  Status retake_lock();
  void deactivate();
  Status ensure_active() { return active ? Status::OK() : activate(); }

  std::string path(const char* suffix) const { return segment_path(dir, seg.base_offset, suffix); }

  Status open_segment_files(bool create) {
    int flags = O_RDWR | (create ? O_CREAT : 0);
    KAPPA_ASSIGN_OR_RETURN(log_fd, open_file(path(format::kLogSuffix), flags));
    if (create) {
      KAPPA_RETURN_IF_ERROR(rewrite_file(path(format::kIndexSuffix), "", false));
      KAPPA_RETURN_IF_ERROR(rewrite_file(path(format::kTimeIndexSuffix), "", false));
      KAPPA_RETURN_IF_ERROR(sync_dir(dir));
    }
    return Status::OK();
  }

  // Appends index entries that are not yet in the files. Only called once
  // the data they point at has been written.
  Status write_index_tails(bool sync) {
    auto append_tail = [&](const char* suffix, const std::string& bytes, size_t at) -> Status {
      if (bytes.empty() && !sync) return Status::OK();
      KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(path(suffix), O_RDWR | O_CREAT));
      if (!bytes.empty() &&
          ::pwrite(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(bytes.size()))
        return Status::FromErrno(path(suffix), errno);
      if (sync && ::fdatasync(fd.get()) != 0) return Status::FromErrno(path(suffix), errno);
      return Status::OK();
    };
    KAPPA_RETURN_IF_ERROR(append_tail(format::kIndexSuffix, seg.index.encode(seg.index_on_disk),
                                      seg.index_on_disk * format::kOffsetIndexEntrySize));
    seg.index_on_disk = seg.index.entries().size();
    KAPPA_RETURN_IF_ERROR(append_tail(format::kTimeIndexSuffix, seg.times.encode(seg.times_on_disk),
                                      seg.times_on_disk * format::kTimeIndexEntrySize));
    seg.times_on_disk = seg.times.entries().size();
    return Status::OK();
  }

  // Hands bufs[cur][0, filled) to the backend and switches buffers. The
  // other buffer's earlier write is waited for first, so it is free.
  Status write_out_buffer() {
    if (filled == 0) return Status::OK();
    KAPPA_RETURN_IF_ERROR(io->wait_writes());
    // Start writeback of what the previous buffer wrote, so the disk works
    // while we encode and the final fdatasync has little left to do (it
    // also keeps dirty pages bounded on small devices).
    if (written_len > 0)
      ::sync_file_range(log_fd.get(), static_cast<off_t>(written_from), static_cast<off_t>(written_len),
                        SYNC_FILE_RANGE_WRITE);
    written_from = buf_file_pos;
    written_len = filled;
    KAPPA_RETURN_IF_ERROR(io->submit_write(log_fd.get(), bufs[cur].data(), filled, buf_file_pos));
    buf_file_pos += filled;
    if (opts.observer && opts.observer->wrote(filled, buf_file_pos)) roll_requested = true;
    cur ^= 1;
    filled = 0;
    return Status::OK();
  }

  // Seals the active segment and starts a new one at the batch now being
  // closed, which sits at bufs[cur][batch_start, +n).
  Status roll(size_t n, int64_t new_base) {
    if (batch_start > 0) {
      KAPPA_RETURN_IF_ERROR(io->wait_writes());
      KAPPA_RETURN_IF_ERROR(io->submit_write(log_fd.get(), bufs[cur].data(), batch_start, buf_file_pos));
    }
    KAPPA_RETURN_IF_ERROR(io->sync(log_fd.get()));
    seg.builder.seal();
    KAPPA_RETURN_IF_ERROR(write_index_tails(true));
    std::memmove(bufs[cur].data(), bufs[cur].data() + batch_start, n);
    batch_start = 0;
    filled = 0;
    buf_file_pos = 0;
    seg.start(new_base);
    written_from = written_len = 0;
    roll_requested = false;
    KAPPA_RETURN_IF_ERROR(open_segment_files(true));
    if (opts.observer) opts.observer->segment_rolled();
    return Status::OK();
  }

  Status close_batch() {
    batch_open = false;
    if (builder.empty()) return Status::OK();
    // LogAppendTime: stamped now, when its records become the log's.
    size_t n = builder.finish(opts.log_append_time ? wall_clock_ms() : -1);
    if (opts.compression != codec::none) {
      KAPPA_ASSIGN_OR_RETURN(n, compress_batch(bufs[cur].data() + batch_start, n, opts.compression, &compressed));
    }
    return commit_batch(n);
  }

  // The batch at bufs[cur][batch_start, +n) is complete: rolls first if it
  // does not belong in the active segment, then counts it in.
  Status commit_batch(size_t n) {
    batch_header h;
    parse_batch_header(bufs[cur].data() + batch_start, n, &h);
    bool too_big = seg.size + n > opts.segment_bytes;
    bool too_old = seg.first_batch_max_ts >= 0 && h.max_timestamp - seg.first_batch_max_ts > opts.segment_ms;
    bool offsets_overflow = h.last_offset() - seg.base_offset > INT32_MAX;
    if (seg.size > 0 && (too_big || too_old || offsets_overflow || roll_requested))
      KAPPA_RETURN_IF_ERROR(roll(n, h.base_offset));
    seg.builder.add(h, seg.size);
    if (seg.size == 0) seg.first_batch_max_ts = h.max_timestamp;
    seg.size += n;
    seg.next_offset = h.last_offset() + 1;
    filled = batch_start + n;
    batches_closed++;
    return Status::OK();
  }

  void open_batch(size_t min_capacity) {
    batch_start = filled;
    size_t cap = std::min(std::max(batch_target, min_capacity), bufs[cur].size() - filled);
    builder.start(bufs[cur].data() + batch_start, cap, seg.next_offset);
    batch_open = true;
  }

  Status append(int64_t ts, bytes_view key, bytes_view value, std::span<const record_header> headers) {
    if (batch_open && builder.append(ts, key, value, headers)) return Status::OK();
    KAPPA_RETURN_IF_ERROR(ensure_active());
    size_t alone = format::kBatchHeaderSize + batch_builder::encoded_size(0, 0, key, value, headers);
    if (alone > max_batch)
      return Status::Invalid("a record of " + std::to_string(alone) + " bytes (with batch header) is larger than " +
                             name + "'s max.message.bytes (" + std::to_string(opts.max_message_bytes) +
                             "); raise it with `kappa topic alter TOPIC --config max.message.bytes=N`");
    if (alone > opts.segment_bytes)
      return Status::Invalid("a record of " + std::to_string(alone) + " bytes (with batch header) is larger than " +
                             name + "'s segment.bytes (" + std::to_string(opts.segment_bytes) + ")");
    if (batch_open) KAPPA_RETURN_IF_ERROR(close_batch());
    if (bufs[cur].size() - filled < alone) KAPPA_RETURN_IF_ERROR(write_out_buffer());
    // After write_out_buffer() nothing is in flight from bufs[cur]: it may grow.
    if (bufs[cur].size() - filled < alone) bufs[cur].resize(filled + alone);
    open_batch(alone);
    if (!builder.append(ts, key, value, headers))
      return Status::Corruption("internal: record does not fit an empty batch");
    return Status::OK();
  }

  // A batch a client encoded, stored as it is but for its base offset (and
  // leader epoch), which neither the CRC nor the records depend on, and,
  // for LogAppendTime, the append time (which the CRC covers: recomputed).
  Status append_batch(std::string_view batch, int64_t* base_offset, int64_t* append_time) {
    KAPPA_RETURN_IF_ERROR(ensure_active());
    batch_header h;
    KAPPA_RETURN_IF_ERROR(validate_batch(batch.data(), batch.size(), max_batch, &records, &h));
    if (batch.size() > opts.segment_bytes)
      return Status::Invalid("a batch of " + std::to_string(batch.size()) + " bytes is larger than " + name +
                             "'s segment.bytes (" + std::to_string(opts.segment_bytes) + ")");
    if (batch_open) KAPPA_RETURN_IF_ERROR(close_batch());
    if (bufs[cur].size() - filled < batch.size()) KAPPA_RETURN_IF_ERROR(write_out_buffer());
    if (bufs[cur].size() - filled < batch.size()) bufs[cur].resize(filled + batch.size());
    batch_start = filled;
    char* dst = bufs[cur].data() + batch_start;
    std::memcpy(dst, batch.data(), batch.size());
    *base_offset = seg.next_offset;
    be::store64(dst + format::kBaseOffsetOffset, static_cast<uint64_t>(seg.next_offset));
    be::store32(dst + format::kLeaderEpochOffset, static_cast<uint32_t>(format::kLeaderEpoch));
    int64_t now = -1;
    if (opts.log_append_time) stamp_log_append_time(dst, batch.size(), now = wall_clock_ms());
    if (append_time) *append_time = now;
    return commit_batch(batch.size());
  }

  Status flush() {
    if (!active) return Status::OK();
    if (batch_open) KAPPA_RETURN_IF_ERROR(close_batch());
    KAPPA_RETURN_IF_ERROR(write_out_buffer());
    KAPPA_RETURN_IF_ERROR(io->wait_writes());
    return write_index_tails(false);
  }
};

Result<std::unique_ptr<partition_appender>> partition_appender::open(const std::string& dir, const std::string& name,
                                                                     const partition_options& options) {
  auto p = std::make_unique<impl>();
  p->dir = dir;
  p->name = name;
  p->opts = options;
  KAPPA_RETURN_IF_ERROR(make_dirs(dir));
  KAPPA_ASSIGN_OR_RETURN(p->lock, partition_lock::acquire_writer(dir, name, options.brief_writer
                                                                                ? partition_lock::kBriefWriterLabel
                                                                                : "",
                                                                  !options.brief_writer));
  p->max_batch = std::max<size_t>(options.max_message_bytes, format::kBatchHeaderSize + 64);
  p->batch_target = std::min<size_t>({kBatchTarget, p->max_batch, std::max<size_t>(options.segment_bytes, 128)});
  return std::unique_ptr<partition_appender>(new partition_appender(std::move(p)));
}

// Everything but the lock waits for the first use, so a producer can hold
// many partitions and pay (recovery, an io_uring, buffers) only for those
// it writes.
Status partition_appender::impl::activate() {
  io = make_io_backend();
  recovery_report report;
  KAPPA_RETURN_IF_ERROR(recover_partition(*io, dir, name, readable_batch_limit(opts.max_message_bytes), &seg, &report));
  notes = std::move(report.notes);
  bool fresh = !path_exists(path(format::kLogSuffix));
  KAPPA_RETURN_IF_ERROR(open_segment_files(fresh));
  buf_file_pos = seg.size;
  // Buffers grow only for a record that needs more.
  size_t size = std::max<size_t>(opts.write_buffer_bytes, 4096);
  bufs[0].resize(size);
  bufs[1].resize(size);
  batch_target = std::min(batch_target, size);
  active = true;
  if (opts.observer && opts.observer->opened(seg.size)) roll_requested = true;
  return Status::OK();
}

Status partition_appender::impl::retake_lock() {
  KAPPA_ASSIGN_OR_RETURN(lock, partition_lock::acquire_writer(dir, name, partition_lock::kBriefWriterLabel, false));
  if (!active) return Status::OK();
  // Unchanged if the active segment is the same file, as long as we left
  // it, and no newer segment was started.
  struct stat st {};
  bool same = ::stat(path(format::kLogSuffix).c_str(), &st) == 0 && st.st_ino == released_ino &&
              static_cast<uint64_t>(st.st_size) == seg.size &&
              !path_exists(segment_path(dir, seg.next_offset, format::kLogSuffix));
  if (!same) deactivate();  // the next write recovers and finds the new end
  return Status::OK();
}

void partition_appender::impl::deactivate() {
  active = false;
  log_fd = unique_fd();
  seg.start(0);
  cur = 0;
  filled = batch_start = 0;
  buf_file_pos = written_from = written_len = 0;
  batch_open = false;
  roll_requested = false;
  notes.clear();
}

partition_appender::partition_appender(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
partition_appender::~partition_appender() {
  if (impl_ && impl_->failed.ok()) (void)impl_->flush();
}

// After a write or sync error (a full disk, say) the appender is done: what
// it had buffered is not known to be on disk, so it writes nothing more,
// above all no index entries for data that may not be there.
Status partition_appender::append(int64_t timestamp, bytes_view key, bytes_view value,
                                  std::span<const record_header> headers) {
  if (!impl_->failed.ok()) return impl_->failed;
  if (!impl_->lock.held()) KAPPA_RETURN_IF_ERROR(impl_->retake_lock());
  Status st = impl_->append(timestamp, key, value, headers);
  if (st.ok() || st.is_invalid()) return st;
  return impl_->failed = st.with_context(impl_->name);
}
Status partition_appender::flush() {
  if (!impl_->failed.ok()) return impl_->failed;
  Status st = impl_->flush();
  if (!st.ok()) impl_->failed = st.with_context(impl_->name);
  return impl_->failed;
}
Status partition_appender::append_batch(std::string_view batch, int64_t* base_offset, int64_t* append_time) {
  if (!impl_->failed.ok()) return impl_->failed;
  if (!impl_->lock.held()) KAPPA_RETURN_IF_ERROR(impl_->retake_lock());
  Status st = impl_->append_batch(batch, base_offset, append_time);
  if (st.ok() || st.is_invalid() || st.is_corruption()) return st.with_context(st.ok() ? "" : impl_->name);
  return impl_->failed = st.with_context(impl_->name);
}
Status partition_appender::sync() {
  if (!impl_->active) return Status::OK();
  KAPPA_RETURN_IF_ERROR(flush());
  Status st = impl_->io->sync(impl_->log_fd.get());
  if (!st.ok()) impl_->failed = st.with_context(impl_->name);
  return impl_->failed;
}
Status partition_appender::sync_all(std::span<partition_appender* const> appenders) {
  std::vector<int> fds;
  std::vector<impl*> synced;
  for (partition_appender* a : appenders) {
    if (!a || !a->impl_->active) continue;
    KAPPA_RETURN_IF_ERROR(a->flush());
    fds.push_back(a->impl_->log_fd.get());
    synced.push_back(a->impl_.get());
  }
  std::vector<int> errs;
  sync_files(fds, &errs);
  Status first;
  for (size_t i = 0; i < synced.size(); i++) {
    if (errs[i] == 0) continue;
    synced[i]->failed = Status::FromErrno("fdatasync", errs[i]).with_context(synced[i]->name);
    if (first.ok()) first = synced[i]->failed;
  }
  return first;
}
Status partition_appender::release_lock() {
  if (!impl_->lock.held()) return Status::OK();
  Status st = flush();
  if (!st.ok()) return st;
  struct stat s {};
  impl_->released_ino = impl_->active && ::fstat(impl_->log_fd.get(), &s) == 0 ? s.st_ino : 0;
  impl_->lock.release();
  return Status::OK();
}
bool partition_appender::holds_lock() const { return impl_->lock.held(); }
void partition_appender::set_log_append_time(bool on) { impl_->opts.log_append_time = on; }

Status partition_appender::open_now() {
  if (!impl_->lock.held()) KAPPA_RETURN_IF_ERROR(impl_->retake_lock());
  return impl_->ensure_active().with_context(impl_->name);
}

Status partition_appender::truncate_to(int64_t end_offset) {
  if (impl_->active)
    return Status::Invalid("internal: " + impl_->name + " must be truncated before its appender is first used");
  if (!path_exists(impl_->dir)) return end_offset == 0 ? Status::OK() : Status::Invalid(impl_->name + " is empty");
  auto io = make_io_backend();
  // A crash may have left a torn tail or indexes to repair: recover first.
  active_segment seg;
  recovery_report report;
  size_t max_batch = readable_batch_limit(impl_->opts.max_message_bytes);
  KAPPA_RETURN_IF_ERROR(recover_partition(*io, impl_->dir, impl_->name, max_batch, &seg, &report));
  return truncate_partition(*io, impl_->dir, impl_->name, end_offset, max_batch);
}
bool partition_appender::is_open() const { return impl_->active; }

int64_t partition_appender::next_offset() const {
  if (!impl_->active) return -1;
  return impl_->batch_open ? impl_->builder.base_offset() + impl_->builder.count() : impl_->seg.next_offset;
}
uint64_t partition_appender::batches_closed() const { return impl_->batches_closed; }
const std::vector<std::string>& partition_appender::recovery_notes() const { return impl_->notes; }

}  // namespace kappa
