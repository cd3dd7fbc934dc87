#include "log/segment_map.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "kappa/log/format.h"
#include "util/big_endian.h"
#include "util/crc32c.h"

namespace kappa {

namespace {
size_t page_size() {
  static const size_t size = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}
size_t round_up(uint64_t n, size_t to) { return static_cast<size_t>((n + to - 1) / to * to); }
}  // namespace

bool try_lock_segment_shared(int fd) {
  int rc;
  do rc = ::flock(fd, LOCK_SH | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  return rc == 0;
}

Status cut_segment_file(io_backend& io, unique_fd* fd, const std::string& path, uint64_t size) {
  int rc;
  do rc = ::flock(fd->get(), LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) {
    // Nobody maps it: cut in place (the lock goes with the fd).
    Status st = truncate_file(fd->get(), size, path);
    if (st.ok()) st = io.sync(fd->get());
    (void)::flock(fd->get(), LOCK_UN);
    return st;
  }
  // A reader maps it: the shorter file gets a new inode. A crash before the
  // rename leaves only a stray temporary file; the .log is unchanged.
  std::string tmp = path + format::kCuttingSuffix;
  KAPPA_RETURN_IF_ERROR(copy_file_synced(path, tmp));
  {
    KAPPA_ASSIGN_OR_RETURN(unique_fd t, open_file(tmp, O_RDWR));
    KAPPA_RETURN_IF_ERROR(truncate_file(t.get(), size, tmp));
    KAPPA_RETURN_IF_ERROR(io.sync(t.get()));
  }
  KAPPA_RETURN_IF_ERROR(rename_file(tmp, path));
  std::string dir = path.substr(0, path.find_last_of('/'));
  KAPPA_RETURN_IF_ERROR(sync_dir(dir.empty() ? "." : dir));
  KAPPA_ASSIGN_OR_RETURN(*fd, open_file(path, O_RDWR));
  return Status::OK();
}

Status segment_map::map(int fd, uint64_t size, const std::string& path) {
  unmap();
  if (size == 0) return Status::OK();
  const size_t file_bytes = round_up(size, page_size());
  const size_t total = file_bytes + round_up(kTailPadding, page_size());
  // Reserve the whole range as zero pages, then map the file over its
  // front: the tail stays readable zeros even when the file ends exactly
  // on a page boundary (a file page past the end would raise SIGBUS).
  void* area = ::mmap(nullptr, total, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (area == MAP_FAILED) return Status::FromErrno("map " + path, errno);
  void* got = ::mmap(area, file_bytes, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
  if (got == MAP_FAILED) {
    int err = errno;
    ::munmap(area, total);
    return Status::FromErrno("map " + path, err);
  }
  (void)::madvise(area, file_bytes, MADV_SEQUENTIAL);
  base_ = area;
  reserved_ = total;
  size_ = size;
  dropped_to_ = 0;
  drop_at_ = 2 * kWindow;
  return Status::OK();
}

void segment_map::unmap() {
  stop_prefetcher();
  if (base_) ::munmap(base_, reserved_);
  base_ = nullptr;
  reserved_ = 0;
  size_ = 0;
}

bool segment_map::drop_behind(uint64_t pos) {
  // Only whole steps, so that it costs one call per few megabytes.
  constexpr size_t kStep = 2u << 20;
  if (pos < dropped_to_ + kWindow + kStep) return false;
  uint64_t to = (pos - kWindow) / page_size() * page_size();
  (void)::madvise(static_cast<char*>(base_) + dropped_to_, static_cast<size_t>(to - dropped_to_), MADV_DONTNEED);
  dropped_to_ = to;
  drop_at_ = to + kWindow + kStep;
  return true;
}

void segment_map::prefetch_ahead(uint64_t from, size_t max_batch) {
  stop_prefetcher();
  verify_from_.store(from);
  verified_to_.store(from);
  if (!base_ || from >= size_) return;
  pos_.store(from);
  verifying_ = max_batch > 0;
  stop_.store(false);
  try {
    prefetcher_ = std::thread([this, from, max_batch] { prefetch_loop(from, max_batch); });
  } catch (const std::system_error&) {
    // No thread (a process limit): the reader faults the pages in itself.
  }
}

void segment_map::wake_prefetcher() {
  wake_at_.store(UINT64_MAX);
  wake_word_.fetch_add(1);
  wake_word_.notify_one();
}

void segment_map::stop_prefetcher() {
  if (!prefetcher_.joinable()) return;
  stop_.store(true);
  wake_prefetcher();
  prefetcher_.join();
}

void segment_map::verify_up_to(uint64_t to, size_t max_batch) {
  const char* base = static_cast<const char*>(base_);
  uint64_t pos = verified_to_.load();
  if (uint64_t reader = pos_.load(); reader > pos) {
    // The reader got past the walk (it checked those batches itself):
    // go on from where it is, rather than touch pages it has left.
    verify_from_.store(reader, std::memory_order_release);
    verified_to_.store(reader, std::memory_order_release);
    pos = reader;
  }
  to = std::min<uint64_t>(to, size_);
  while (verifying_ && pos + format::kBatchHeaderSize <= to && !stop_.load()) {
    uint64_t total = uint64_t{be::load32(base + pos + format::kBatchLengthOffset)} + format::kLogOverhead;
    if (total < format::kBatchHeaderSize || total > max_batch || base[pos + format::kMagicOffset] != format::kMagicV2) {
      verifying_ = false;  // not a batch it can vouch for: the reader checks from here
      return;
    }
    if (pos + total > to) return;  // not all mapped in yet
    uint32_t crc = crc32c(base + pos + format::kCrcCoveredStart, total - format::kCrcCoveredStart);
    if (crc != be::load32(base + pos + format::kCrcOffset)) {
      verifying_ = false;
      return;
    }
    pos += total;
    verified_to_.store(pos, std::memory_order_release);
  }
}

void segment_map::prefetch_loop(uint64_t from, size_t max_batch) {
#ifdef MADV_POPULATE_READ
  constexpr size_t kStep = 1u << 20;      // pages mapped in per call
  constexpr size_t kWakeStep = 2u << 20;  // the reader's progress between two rounds
  const uint64_t end = round_up(size_, page_size());
  uint64_t mapped_to = from / page_size() * page_size();
  while (!stop_.load() && mapped_to < end) {
    uint64_t pos = pos_.load();
    (void)drop_behind(pos);
    mapped_to = std::max(mapped_to, pos / page_size() * page_size());
    if (mapped_to < pos + kWindow) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kStep, end - mapped_to));
      // Older kernels say EINVAL: then the pages fault in as they are touched.
      if (::madvise(static_cast<char*>(base_) + mapped_to, n, MADV_POPULATE_READ) != 0 && errno == EINVAL) return;
      mapped_to += n;
      verify_up_to(mapped_to, max_batch);
      continue;
    }
    // Sleep until the reader has moved on. (wake_at_ is stored before pos_
    // is read again, and the reader stores pos_ before it reads wake_at_,
    // so one of them sees the other.)
    uint32_t word = wake_word_.load();
    wake_at_.store(pos + kWakeStep);
    if (pos_.load() < pos + kWakeStep && !stop_.load()) wake_word_.wait(word);
  }
#else
  (void)from;
#endif
}

}  // namespace kappa
