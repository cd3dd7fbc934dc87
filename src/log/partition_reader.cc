// The read path: a segment of some size is mapped (segment_map.h says why
// that is safe) and its batches are CRC-checked and handed out record by
// record straight from the page cache; a small one, or the newest few bytes
// of one being followed, is read sequentially in chunks into a buffer
// instead. Either way the per-record cost is a few varint decodes and no
// copy.
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "io/file.h"
#include "io/io_backend.h"
#include "kappa/log.h"
#include "log/partition_lock.h"
#include "log/record_batch.h"
#include "log/recovery.h"
#include "log/segment.h"
#include "log/segment_map.h"
#include "log/segment_name.h"

namespace kappa {

static constexpr size_t kReadChunk = 256u << 10;
static constexpr size_t kHeadroom = 256u << 10;
static constexpr size_t kTailPadding = 64;
static constexpr size_t kIndexLimit = 64u << 20;
// Map a segment when at least this much of it is there to read: below it,
// or for what a follower finds appended, one pread costs less than a map.
static constexpr uint64_t kMapMin = 1u << 20;
static_assert(kTailPadding <= segment_map::kTailPadding);

struct partition_reader::impl {
  std::string dir, name;
  partition_options opts;
  size_t max_batch = 0;
  std::unique_ptr<io_backend> io;
  bool writer_active = false;  // someone else held the lock at open
  // The segments, oldest first: archived ones (with read_archive) and then
  // the live ones. Re-listed at segment ends, as retention and compaction
  // remove and replace sealed segments under a reader.
  struct segment_ref {
    int64_t base;
    bool archived;
  };
  std::vector<segment_ref> segs;
  size_t seg = 0;                      // index into segs of the open segment (as last listed)
  int64_t open_base = 0;               // base offset of the open segment
  int64_t open_next = 0;               // the offset after the last batch seen in it
  int64_t gap_from = -1, gap_to = -1;  // removed under the reader, not yet reported
  unique_fd fd;
  std::string seg_path;
  std::shared_ptr<const segment_file> shared;  // a dup of fd for batch ranges, made on first use
  // The open segment's mapping, when it is read mapped (then buf is its
  // start, buf_pos 0, len the mapped bytes and cur the file position).
  // Declared after fd: it is unmapped before fd and its lock go.
  segment_map map;
  bool mapped = false;

  // Two chunk buffers: the active one holds the batches being handed out;
  // the other receives the next chunk (read ahead, on another core with
  // io_uring) so the copy from the page cache overlaps decoding. Each has
  // kHeadroom bytes in front to prepend the partial batch left over from
  // the previous chunk.
  std::vector<char> mem[2];
  int act = 0;
  char* buf = nullptr;  // active bytes: buf[0, len) is file [buf_pos, +len)
  size_t buf_cap = 0;   // usable bytes from buf to the end of mem[act]
  uint64_t buf_pos = 0;
  size_t len = 0, cur = 0;
  bool ahead = false;  // a read of the next chunk is in flight
  uint64_t ahead_pos = 0;
  bool in_batch = false;
  record_iterator it{batch_header{}, nullptr, nullptr};
  batch_records records;          // the decompressed records of a compressed batch
  uint64_t batch_pos = 0;         // file position of the batch being iterated
  int64_t target = 0;             // skip records below this offset
  int64_t ts_target = INT64_MIN;  // skip records until one has timestamp >= this
  int64_t position = 0;
  bool seeking = false;  // no record returned since the last seek
  corruption_info bad;
  uint64_t skip_from = 0;  // where the damage starts (file position)

  ~impl() { (void)cancel_read_ahead(); }

  Status cancel_read_ahead() {
    if (!ahead) return Status::OK();
    ahead = false;
    return io->wait_read().status();
  }

  void read_ahead() {
    if (ahead || mem[1 - act].size() < kHeadroom + kReadChunk) return;
    ahead_pos = buf_pos + len;
    if (io->submit_read(fd.get(), mem[1 - act].data() + kHeadroom, kReadChunk, ahead_pos).ok()) ahead = true;
  }

  Status open_segment(size_t i, uint64_t pos) {
    KAPPA_RETURN_IF_ERROR(cancel_read_ahead());
    map.unmap();
    mapped = false;
    seg = i;
    open_base = open_next = segs[i].base;
    seg_path = path_of(i, format::kLogSuffix);
    auto f = open_file(seg_path, O_RDONLY);
    shared.reset();
    if (f.ok())
      fd = std::move(f.value());
    else if (f.status().is_not_found())
      fd = unique_fd();  // nothing written yet: read as empty
    else
      return f.status();
    in_batch = false;
    if (fd.valid()) {
      KAPPA_ASSIGN_OR_RETURN(uint64_t size, file_size(fd.get(), seg_path));
      if (size >= kMapMin && try_lock_segment_shared(fd.get()) && map.map(fd.get(), size, seg_path).ok()) {
        mapped = true;
        buf = const_cast<char*>(map.data());  // PROT_READ: only the buffered path writes to buf
        buf_pos = 0;
        len = size;
        cur = std::min<uint64_t>(pos, size);
        start_prefetch();
        return Status::OK();
      }
    }
    read_buffered_from(pos);
    return Status::OK();
  }

  // Goes on reading the open segment through the chunk buffers from `pos`.
  void read_buffered_from(uint64_t pos) {
    map.unmap();
    mapped = false;
    buf = mem[act].data();
    buf_cap = mem[act].size() - kTailPadding;
    buf_pos = pos;
    len = cur = 0;
  }

  // Moves the read position of the freshly opened segment to `pos`.
  void set_file_position(uint64_t pos) {
    if (mapped) {
      cur = std::min<uint64_t>(pos, len);
      start_prefetch();
    } else {
      buf_pos = pos;
    }
  }

  void start_prefetch() {
    if (opts.prefetch && len - cur >= kMapMin) map.prefetch_ahead(cur, max_batch);
  }

  std::string path_of(size_t i, const char* suffix) const {
    return segment_path(segs[i].archived ? opts.archive_dir : dir, segs[i].base, suffix);
  }

  Status refresh_segments() {
    // Live first, then the archive: segments only move from live to
    // archive, so one that moves between the two listings is in both
    // (the live copy is the one read), never in neither.
    std::vector<int64_t> live, archived;
    if (path_exists(dir)) {  // else a partition never written
      KAPPA_ASSIGN_OR_RETURN(live, list_segments(dir));
    }
    if (opts.read_archive && !opts.archive_dir.empty() && path_exists(opts.archive_dir)) {
      KAPPA_ASSIGN_OR_RETURN(archived, list_segments(opts.archive_dir));
    }
    std::vector<segment_ref> now;
    for (int64_t b : archived)
      if (live.empty() || b < live.front()) now.push_back({b, true});
    for (int64_t b : live) now.push_back({b, false});
    if (now.empty()) return Status::OK();
    segs = std::move(now);
    seg = floor_segment(open_base);
    return Status::OK();
  }

  // Is nothing listed after the open segment (it is the newest)?
  bool open_is_last() const { return segs.back().base <= open_base; }

  // Is segs[i] the very file the reader has open (not one that replaced it)?
  bool is_open_file(size_t i) const {
    std::string p = path_of(i, format::kLogSuffix);
    if (p != seg_path) return false;
    if (!fd.valid()) return true;  // not created yet, still the same name
    struct stat a, b;
    return ::stat(p.c_str(), &a) == 0 && ::fstat(fd.get(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
  }

  // Opens segs[i] positioned for `offset` through its offset index. The
  // index is read after the .log is opened and trusted only if the .log
  // was not replaced meanwhile (compaction swaps the .log first and its
  // index last), else read again.
  Status open_segment_at(size_t i, int64_t offset) {
    for (int attempt = 0;; attempt++) {
      KAPPA_RETURN_IF_ERROR(open_segment(i, 0));
      if (offset <= segs[i].base || !fd.valid()) return Status::OK();
      offset_index idx = load_index(i);
      if (is_open_file(i)) {
        set_file_position(idx.lookup(offset));
        return Status::OK();
      }
      if (attempt == 3) return Status::OK();  // from the file's start: slower, never wrong
    }
  }

  // The index of the segment that holds `offset`: the last one whose base
  // is <= offset, or the first one if offset precedes them all.
  size_t floor_segment(int64_t offset) const {
    size_t i = 0;
    while (i + 1 < segs.size() && segs[i + 1].base <= offset) i++;
    return i;
  }

  enum class next_step { wait, go_on, truncated };

  // At the end of the open file: where does reading go on? Everything
  // below `want` has been read. The segments are listed again, since
  // retention may have removed the open segment or its successors, and
  // compaction may have replaced them with a file that starts earlier.
  Result<next_step> move_on() {
    KAPPA_RETURN_IF_ERROR(refresh_segments());
    int64_t want = std::max(position, open_next);
    size_t i = floor_segment(want);
    if (is_open_file(i)) {
      if (i + 1 >= segs.size()) return next_step::wait;  // the newest segment: more may come
      // A newer segment exists, so this one was complete before it was
      // created: one more read sees all of it.
      KAPPA_ASSIGN_OR_RETURN(size_t got, fill());
      if (got > 0) return next_step::go_on;
      if (len > cur) return next_step::truncated;
      i++;
    }
    KAPPA_RETURN_IF_ERROR(open_segment_at(i, want));
    if (segs[i].base > want && opts.cleanup_delete) {
      gap_from = want;
      gap_to = segs[i].base;
    }
    position = std::max({position, want, segs[i].base});
    target = std::max(target, position);
    return next_step::go_on;
  }

  // Steps to the segment after the open one (after damage in it).
  Status skip_segment() {
    KAPPA_RETURN_IF_ERROR(refresh_segments());
    size_t i = 0;
    while (i < segs.size() && segs[i].base <= open_base) i++;
    if (i == segs.size()) return Status::OK();
    KAPPA_RETURN_IF_ERROR(open_segment(i, 0));
    position = std::max(position, segs[i].base);
    target = std::max(target, position);
    return Status::OK();
  }

  // A mapped segment: maps what was appended since (a lot), or reads it
  // into the buffers (a little, as a follower finds it).
  Result<size_t> fill_mapped() {
    KAPPA_ASSIGN_OR_RETURN(uint64_t size, file_size(fd.get(), seg_path));
    if (size <= len) return size_t{0};
    if (size > map.size()) {
      if (size - map.size() < kMapMin) {
        read_buffered_from(cur);
        return fill();
      }
      KAPPA_RETURN_IF_ERROR(map.map(fd.get(), size, seg_path));
      buf = const_cast<char*>(map.data());
      start_prefetch();
    }
    size_t got = static_cast<size_t>(size - len);
    len = size;
    return got;
  }

  // Reads more of the segment after the unconsumed bytes. Returns bytes got.
  Result<size_t> fill() {
    if (mapped) return fill_mapped();
    size_t left = len - cur;
    if (ahead) {
      ahead = false;
      KAPPA_ASSIGN_OR_RETURN(size_t got, io->wait_read());
      if (got > 0 && ahead_pos == buf_pos + len && left <= kHeadroom) {
        char* next = mem[1 - act].data() + kHeadroom;
        std::memcpy(next - left, buf + cur, left);
        act = 1 - act;
        buf = next - left;
        buf_cap = mem[act].size() - kTailPadding - (kHeadroom - left);
        buf_pos = ahead_pos - left;
        len = left + got;
        cur = 0;
        read_ahead();
        return got;
      }
      // Stale (the tail was dropped) or empty: read synchronously below.
    }
    // Compact the partial batch to the front of the active buffer, growing
    // it when one batch is larger than the buffer.
    std::memmove(mem[act].data(), buf + cur, left);
    buf = mem[act].data();
    buf_pos += cur;
    len = left;
    cur = 0;
    if (len >= format::kLogOverhead) {
      size_t need = batch_total_size(buf);
      if (need + kTailPadding > mem[act].size() && need <= max_batch) {
        mem[act].resize(need + kTailPadding);
        buf = mem[act].data();
      }
    }
    buf_cap = mem[act].size() - kTailPadding;
    if (len == buf_cap) return size_t{0};
    if (!fd.valid()) {
      auto f = open_file(seg_path, O_RDONLY);  // the first segment may appear later
      if (!f.ok()) return size_t{0};
      fd = std::move(f.value());
      shared.reset();
    }
    KAPPA_ASSIGN_OR_RETURN(size_t got, io->read(fd.get(), buf + len, buf_cap - len, buf_pos + len));
    len += got;
    if (got > 0) read_ahead();
    return got;
  }

  Status corrupt_at(uint64_t pos, std::string why) {
    bad = corruption_info{seg_path, pos, std::max(position, target), std::move(why)};
    skip_from = pos;
    return Status::OK();
  }

  Result<status> next(record_view* out) {
    for (;;) {
      if (in_batch) {
        int r = it.next(out);
        if (r == 1) {
          if (out->offset < target) continue;
          if (ts_target != INT64_MIN) {
            if (out->timestamp < ts_target) continue;
            ts_target = INT64_MIN;
          }
          position = out->offset + 1;
          seeking = false;
          return status::record;
        }
        in_batch = false;
        if (r < 0) {
          KAPPA_RETURN_IF_ERROR(corrupt_at(batch_pos, std::string("malformed record: ") + it.error()));
          return status::corrupt;
        }
        continue;
      }
      batch_header h;
      KAPPA_ASSIGN_OR_RETURN(status st, next_batch(&h));
      if (st != status::record) return st;
      const char* batch = buf + (batch_pos - buf_pos);
      if (h.attributes & format::kCompressionMask) {
        // A producer's compressed batch (stored as it came): its records
        // are read from a decompressed copy.
        Status ds = records.open(h, batch, max_batch);
        if (!ds.ok()) {
          KAPPA_RETURN_IF_ERROR(corrupt_at(batch_pos, ds.message()));
          return status::corrupt;
        }
        it = records.iterator(h);
      } else {
        it = record_iterator(h, batch);
      }
      in_batch = true;
    }
  }

  // Moves to the next whole, CRC-checked batch that holds records at or
  // past the target: status::record with *h its header, its bytes at
  // buf + (batch_pos - buf_pos), cur past it. Else end or corrupt, as next().
  Result<status> next_batch(batch_header* h) {
    for (;;) {
      if (mapped) map.advance(cur);
      std::string why;
      batch_state st = check_batch(buf + cur, len - cur, max_batch, h, &why, mapped && map.crc_checked(cur));
      if (st == batch_state::ok) {
        batch_pos = buf_pos + cur;
        cur += h->total_size();
        open_next = std::max(open_next, h->last_offset() + 1);
        if (h->last_offset() < target || (ts_target != INT64_MIN && h->max_timestamp < ts_target)) {
          position = std::max(position, h->last_offset() + 1);
          continue;
        }
        return status::record;
      }
      bool last = open_is_last();
      if (st == batch_state::corrupt) {
        // In the newest segment while another process holds the lock, this
        // may be a crashed writer's tail that it is cutting right now (in
        // place, or by a shorter copy under the same name: then read that).
        if (last && writer_active) {
          if (!is_open_file(seg)) {
            KAPPA_ASSIGN_OR_RETURN(next_step step, move_on());
            if (step == next_step::go_on) continue;
          }
          len = cur;
          return status::end;
        }
        KAPPA_RETURN_IF_ERROR(corrupt_at(buf_pos + cur, why));
        if (seeking) {
          // Nothing returned since a seek: if the damage ends at or before
          // the requested offset, it was never asked for; step over it.
          int64_t saved_position = position, saved_target = target;
          bad.offset = segs[seg].base;
          KAPPA_ASSIGN_OR_RETURN(int64_t after, skip_corrupt());
          if (after <= saved_target && seg_of(bad.segment) == seg) {
            position = target = saved_target;
            continue;
          }
          KAPPA_RETURN_IF_ERROR(open_segment(seg_of(bad.segment), bad.position));
          position = saved_position;
          target = saved_target;
          bad.offset = target;
        }
        return status::corrupt;
      }
      KAPPA_ASSIGN_OR_RETURN(size_t got, fill());
      if (got > 0) continue;
      KAPPA_ASSIGN_OR_RETURN(next_step step, move_on());
      if (step == next_step::wait) {
        len = cur;  // re-read the partial tail next time: it may be rewritten
        return status::end;
      }
      if (step == next_step::truncated) {
        KAPPA_RETURN_IF_ERROR(corrupt_at(buf_pos + cur, "truncated batch at the end of a sealed segment"));
        return status::corrupt;
      }
    }
  }

  // The batch at the read position, if it is whole (in the buffer, or one
  // fill away in the open segment), valid, and at most `room` bytes: taken
  // as next_batch() takes one. Else false, and nothing moves: the next
  // next_batch() gets to it (and reports damage) the usual way.
  bool next_batch_here(batch_header* h, uint64_t room) {
    for (int attempt = 0; attempt < 2; attempt++) {
      if (mapped) map.advance(cur);
      if (len - cur >= format::kLogOverhead && batch_total_size(buf + cur) > room) return false;
      std::string why;
      batch_state st = check_batch(buf + cur, len - cur, max_batch, h, &why, mapped && map.crc_checked(cur));
      if (st == batch_state::ok) {
        batch_pos = buf_pos + cur;
        cur += h->total_size();
        open_next = std::max(open_next, h->last_offset() + 1);
        return true;
      }
      if (st == batch_state::corrupt || attempt > 0) return false;
      auto got = fill();  // an error comes again, and is reported, on the next call
      if (!got.ok() || got.value() == 0) return false;
    }
    return false;
  }

  // A handle on the open segment file that outlives the reader's own.
  Result<std::shared_ptr<const segment_file>> shared_file() {
    if (!shared) {
      int d = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);
      if (d < 0) return Status::FromErrno("dup the file descriptor of " + seg_path, errno);
      shared = std::make_shared<const segment_file>(d, seg_path);
    }
    return shared;
  }

  size_t seg_of(const std::string& path) const {
    for (size_t i = 0; i < segs.size(); i++)
      if (path_of(i, format::kLogSuffix) == path) return i;
    return seg;
  }

  // Is there a valid batch at file position pos of the open segment?
  bool valid_batch_at(uint64_t pos, batch_header* h) {
    std::vector<char> hdr(format::kLogOverhead);
    auto got = io->read(fd.get(), hdr.data(), hdr.size(), pos);
    if (!got.ok() || got.value() < hdr.size()) return false;
    size_t total = batch_total_size(hdr.data());
    if (total > max_batch || total < format::kBatchHeaderSize) return false;
    std::vector<char> b(total);
    got = io->read(fd.get(), b.data(), total, pos);
    std::string why;
    return got.ok() && got.value() == total && check_batch(b.data(), total, max_batch, h, &why) == batch_state::ok &&
           h->base_offset >= bad.offset;
  }

  Result<int64_t> skip_corrupt() {
    batch_header h;
    // 1. The damaged batch's own length field, if it leads to a valid batch.
    std::vector<char> hdr(format::kLogOverhead);
    auto got = io->read(fd.get(), hdr.data(), hdr.size(), skip_from);
    if (got.ok() && got.value() == hdr.size()) {
      uint64_t next = skip_from + batch_total_size(hdr.data());
      if (batch_total_size(hdr.data()) <= max_batch && valid_batch_at(next, &h)) return resume_at(next, h.base_offset);
    }
    // 2. The segment's offset index: the first entry past the damage.
    std::string ib;
    if (read_small_file(path_of(seg, format::kIndexSuffix), &ib, kIndexLimit).ok()) {
      bool consistent;
      auto idx = offset_index::decode(segs[seg].base, ib, UINT32_MAX, &consistent);
      for (const auto& e : idx.entries())
        if (e.position > skip_from && valid_batch_at(e.position, &h)) return resume_at(e.position, h.base_offset);
    }
    // 3. The next segment, or the end of this one.
    KAPPA_RETURN_IF_ERROR(refresh_segments());
    if (!open_is_last()) {
      KAPPA_RETURN_IF_ERROR(skip_segment());
      return position;
    }
    KAPPA_ASSIGN_OR_RETURN(uint64_t size, file_size(fd.get(), seg_path));
    KAPPA_RETURN_IF_ERROR(open_segment(seg, size));
    return position;
  }

  Result<int64_t> resume_at(uint64_t pos, int64_t offset) {
    KAPPA_RETURN_IF_ERROR(open_segment(seg, pos));
    position = std::max(position, offset);
    target = std::max(target, position);
    return position;
  }

  // Loads segs[i]'s offset index (an empty one if it is unreadable).
  offset_index load_index(size_t i) {
    std::string ib;
    bool consistent;
    if (!read_small_file(path_of(i, format::kIndexSuffix), &ib, kIndexLimit).ok()) return offset_index(segs[i].base);
    return offset_index::decode(segs[i].base, ib, UINT32_MAX, &consistent);
  }
  time_index load_times(size_t i) {
    std::string tb;
    bool consistent;
    if (!read_small_file(path_of(i, format::kTimeIndexSuffix), &tb, kIndexLimit).ok()) return time_index(segs[i].base);
    return time_index::decode(segs[i].base, tb, INT64_MAX, &consistent);
  }

  // Scans the newest segment from its last index entry: its end offset and
  // the largest timestamp after that entry.
  struct tail {
    int64_t end_offset;
    int64_t max_ts;
  };
  // The last scan_tail() and the newest .log as it was then (the file's
  // identity, size and change times): a broker asks for every fetch, and
  // reading the indexes each time cost more than the fetch itself.
  struct tail_key {
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    timespec mtime{}, ctime{};
    bool operator==(const tail_key& o) const {
      return path == o.path && dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
             mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
    }
  };
  tail_key tail_of;
  tail last_tail{0, -1};

  Result<tail> scan_tail() {
    KAPPA_RETURN_IF_ERROR(refresh_segments());
    size_t last = segs.size() - 1;
    // Unchanged since the last scan (appends grow a file, cuts shrink it,
    // compaction and recovery may replace it): the same answer.
    tail_key key;
    struct stat st;
    key.path = path_of(last, format::kLogSuffix);
    if (::stat(key.path.c_str(), &st) == 0) {
      key.dev = st.st_dev;
      key.ino = st.st_ino;
      key.size = st.st_size;
      key.mtime = st.st_mtim;
      key.ctime = st.st_ctim;
      if (key == tail_of) return last_tail;
    }
    KAPPA_ASSIGN_OR_RETURN(tail t, scan_tail_now(last));
    if (key.size >= 0) {
      tail_of = std::move(key);
      last_tail = t;
    }
    return t;
  }

  Result<tail> scan_tail_now(size_t last) {
    offset_index idx = load_index(last);
    time_index times = load_times(last);
    uint64_t start = idx.empty() ? 0 : idx.entries().back().position;
    tail t{segs[last].base, times.empty() ? -1 : times.entries().back().timestamp};
    auto fopen = open_file(path_of(last, format::kLogSuffix), O_RDONLY);
    if (!fopen.ok() && fopen.status().is_not_found()) return t;
    KAPPA_ASSIGN_OR_RETURN(unique_fd f, std::move(fopen));
    bool found = false;
    auto scan = [&](uint64_t from) {
      return scan_segment(*io, f.get(), from, max_batch, [&](const batch_header& h, const char*, uint64_t) {
        t.end_offset = h.last_offset() + 1;
        t.max_ts = std::max(t.max_ts, h.max_timestamp);
        found = true;
        return true;
      });
    };
    auto stop = scan(start);
    if (!stop.ok()) return stop.status();
    // No whole batch where the index points (a writer that failed mid-write,
    // e.g. on a full disk, may have indexed data it never completed): scan
    // the segment from its start.
    if (!found && start > 0) {
      stop = scan(0);
      if (!stop.ok()) return stop.status();
    }
    return t;
  }
};

Result<std::unique_ptr<partition_reader>> partition_reader::open(const std::string& dir, const std::string& name,
                                                                 const partition_options& options) {
  auto p = std::make_unique<impl>();
  p->dir = dir;
  p->name = name;
  p->opts = options;
  p->max_batch = readable_batch_limit(options.max_message_bytes);
  p->io = make_io_backend();
  if (path_exists(dir)) {
    partition_lock lock = partition_lock::try_acquire_for_recovery(dir);
    p->writer_active = !lock.held();
    if (lock.held()) {
      active_segment a;
      recovery_report report;
      report.indexes_best_effort = true;
      KAPPA_RETURN_IF_ERROR(recover_partition(*p->io, dir, name, p->max_batch, &a, &report));
    }
  }
  KAPPA_RETURN_IF_ERROR(p->refresh_segments());
  // The tail padding lets value-only readers over-read a value by a block.
  p->mem[0].resize(kHeadroom + kReadChunk + kTailPadding);
  p->mem[1].resize(kHeadroom + kReadChunk + kTailPadding);
  // A partition nobody has written yet reads as empty, at its future first
  // segment.
  if (p->segs.empty()) p->segs.push_back({0, false});
  KAPPA_RETURN_IF_ERROR(p->open_segment(0, 0));
  p->position = p->target = p->segs[0].base;
  return std::unique_ptr<partition_reader>(new partition_reader(std::move(p)));
}

partition_reader::partition_reader(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
partition_reader::~partition_reader() = default;

int64_t partition_reader::log_start_offset() {
  (void)impl_->refresh_segments();  // on failure, the last known start
  return impl_->segs.front().base;
}

Result<int64_t> partition_reader::log_end_offset() {
  KAPPA_ASSIGN_OR_RETURN(auto t, impl_->scan_tail());
  return t.end_offset;
}

Result<int64_t> partition_reader::newest_timestamp() {
  KAPPA_ASSIGN_OR_RETURN(auto t, impl_->scan_tail());
  int64_t newest = t.max_ts;
  for (size_t i = 0; i + 1 < impl_->segs.size(); i++) {
    time_index times = impl_->load_times(i);
    if (!times.empty()) newest = std::max(newest, times.entries().back().timestamp);
  }
  return newest;
}

Status partition_reader::seek(int64_t offset) {
  auto& p = *impl_;
  KAPPA_RETURN_IF_ERROR(p.refresh_segments());
  size_t i = p.floor_segment(offset);
  KAPPA_RETURN_IF_ERROR(p.open_segment_at(i, offset));
  p.target = std::max(offset, p.segs[i].base);
  p.position = p.target;
  p.ts_target = INT64_MIN;
  p.seeking = p.target > p.segs[i].base;
  return Status::OK();
}

Status partition_reader::seek_to_timestamp(int64_t ts) {
  auto& p = *impl_;
  KAPPA_RETURN_IF_ERROR(p.refresh_segments());
  // The first segment whose newest timestamp reaches ts (sealed segments'
  // time indexes end with their newest timestamp).
  size_t i = 0;
  time_index times(p.segs[0].base);
  for (;; i++) {
    times = p.load_times(i);
    if (i + 1 == p.segs.size()) break;
    if (times.empty() || times.entries().back().timestamp >= ts) break;
  }
  int64_t from = times.lookup(ts);
  KAPPA_RETURN_IF_ERROR(p.open_segment_at(i, from < 0 ? p.segs[i].base : from));
  p.target = p.position = p.segs[i].base;
  p.ts_target = ts;
  return Status::OK();
}

Result<partition_reader::status> partition_reader::next(record_view* out) { return impl_->next(out); }

Result<partition_reader::status> partition_reader::next_many(record_view* out, size_t max, size_t* count) {
  auto& p = *impl_;
  *count = 0;
  if (max == 0) return status::record;
  KAPPA_ASSIGN_OR_RETURN(status st, p.next(out));
  if (st != status::record) return st;
  size_t n = 1;
  // The rest of the same batch: offsets only grow, so the seek filters of
  // next() are already satisfied. A malformed record stops here and is
  // reported by the next call.
  while (n < max && p.in_batch && p.it.next(&out[n]) == 1) n++;
  p.position = out[n - 1].offset + 1;
  *count = n;
  return status::record;
}
Result<partition_reader::status> partition_reader::next_values(int64_t* offsets, bytes_view* values, size_t max,
                                                               size_t* count) {
  auto& p = *impl_;
  *count = 0;
  if (max == 0) return status::record;
  record_view first;
  KAPPA_ASSIGN_OR_RETURN(status st, p.next(&first));
  if (st != status::record) return st;
  offsets[0] = first.offset;
  values[0] = first.value;
  size_t n = 1;
  if (p.in_batch) n += p.it.next_values(offsets + 1, values + 1, max - 1);
  p.position = offsets[n - 1] + 1;
  *count = n;
  return status::record;
}

Result<partition_reader::status> partition_reader::next_batch(std::string_view* batch) {
  auto& p = *impl_;
  p.in_batch = false;  // records of a batch half read by next() are not returned
  batch_header h;
  KAPPA_ASSIGN_OR_RETURN(status st, p.next_batch(&h));
  if (st != status::record) return st;
  *batch = std::string_view(p.buf + (p.batch_pos - p.buf_pos), h.total_size());
  p.position = std::max(p.position, h.last_offset() + 1);
  p.target = std::max(p.target, p.position);
  p.ts_target = INT64_MIN;
  p.seeking = false;
  return status::record;
}

Result<partition_reader::status> partition_reader::next_batch_range(batch_range* out, uint64_t max_bytes,
                                                                    bool at_least_one) {
  auto& p = *impl_;
  p.in_batch = false;
  batch_header h;
  KAPPA_ASSIGN_OR_RETURN(status st, p.next_batch(&h));
  if (st != status::record) return st;
  if (!at_least_one && h.total_size() > max_bytes) {
    // Still in the buffer or the map, right before cur: left for the next
    // call (cheaper than the seek a caller would need to read it again).
    p.cur -= h.total_size();
    return status::end;
  }
  KAPPA_ASSIGN_OR_RETURN(out->file, p.shared_file());
  out->position = p.batch_pos;
  out->length = h.total_size();
  out->base_offset = h.base_offset;
  out->last_offset = h.last_offset();
  out->batches = 1;
  out->records = static_cast<uint64_t>(std::max(0, h.record_count));
  // The batches right after it: contiguous in the file, so one range.
  while (out->length < max_bytes && p.next_batch_here(&h, max_bytes - out->length)) {
    out->length += h.total_size();
    out->last_offset = h.last_offset();
    out->batches++;
    out->records += static_cast<uint64_t>(std::max(0, h.record_count));
  }
  p.position = std::max(p.position, out->last_offset + 1);
  p.target = std::max(p.target, p.position);
  p.ts_target = INT64_MIN;
  p.seeking = false;
  return status::record;
}

segment_file::~segment_file() {
  if (fd_ >= 0) ::close(fd_);
}

const corruption_info& partition_reader::corruption() const { return impl_->bad; }
Result<int64_t> partition_reader::skip_corrupt() { return impl_->skip_corrupt(); }
bool partition_reader::take_removed_gap(int64_t* from, int64_t* to) {
  if (impl_->gap_from < 0) return false;
  *from = impl_->gap_from;
  *to = impl_->gap_to;
  impl_->gap_from = impl_->gap_to = -1;
  return true;
}
int64_t partition_reader::position() const { return impl_->position; }

log_watcher::log_watcher() { fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }
log_watcher::~log_watcher() {
  if (fd_ >= 0) ::close(fd_);
}

Status log_watcher::add(const std::string& dir) {
  if (fd_ < 0) return Status::OK();  // no inotify: wait() falls back to its timeout
  if (::inotify_add_watch(fd_, dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
    return Status::FromErrno("watch " + dir, errno);
  return Status::OK();
}

Status log_watcher::wait(int timeout_ms) {
  if (fd_ < 0) {
    ::poll(nullptr, 0, timeout_ms < 0 || timeout_ms > 100 ? 100 : timeout_ms);
    return Status::OK();
  }
  pollfd pfd{fd_, POLLIN, 0};
  int rc = ::poll(&pfd, 1, timeout_ms);
  if (rc < 0 && errno != EINTR) return Status::FromErrno("poll", errno);
  char drain[4096];
  while (::read(fd_, drain, sizeof drain) > 0) {
  }
  return Status::OK();
}

}  // namespace kappa
