// Reading a segment file through a read-only memory map, and the one rule
// that makes it safe: a mapped segment file never shrinks.
//
// The read path checks and hands out batches straight from the page cache
// (no copy into a buffer). Touching a mapped page that a truncation removed
// would kill the reader with SIGBUS, so:
// - a reader maps a .log only while it holds a shared flock(2) on it
//   (try_lock_segment_shared), and reads it with pread otherwise;
// - everything that shrinks a .log in place (recovery cutting a torn tail,
//   a job cutting its output back) goes through cut_segment_file, which
//   truncates in place only when it can take that lock exclusively, and
//   otherwise writes the shorter file under a new inode and renames it over
//   the old name: a reader's mapping keeps the old inode, whole, and the
//   reader moves to the new file when it sees the name point elsewhere.
// Sealed segments are never shrunk at all (compaction and retention replace
// or remove whole files), and appends only grow a file.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

#include "io/file.h"
#include "io/io_backend.h"
#include "kappa/status.h"

namespace kappa {

// A shared flock on fd without waiting: false if a cutter holds it now
// (then read the file without mapping it). Held until fd is closed.
bool try_lock_segment_shared(int fd);

// Cuts the segment file at `path` (open as *fd) to `size` bytes and syncs
// it. In place when no reader has it mapped; else through a copy renamed
// over it, and *fd is reopened on the new file.
Status cut_segment_file(io_backend& io, unique_fd* fd, const std::string& path, uint64_t size);

class segment_map {
 public:
  // Readable zero bytes after the mapped file bytes, for decoders that read
  // a little past the end of a value (output_buffer::put_padded).
  static constexpr size_t kTailPadding = 64;
  // Pages further than this behind the reader are dropped from the mapping
  // as it goes (they stay in the page cache and come back if touched), so a
  // long sequential read keeps a bounded resident set and the process does
  // not tear down a whole segment's page tables at once at the end. The
  // prefetcher maps pages in this far ahead of the reader.
  static constexpr size_t kWindow = 4u << 20;

  segment_map() = default;
  ~segment_map() { unmap(); }
  segment_map(const segment_map&) = delete;
  segment_map& operator=(const segment_map&) = delete;

  // Maps the first `size` bytes of fd (REQUIRES: the caller holds a shared
  // lock on it, and size <= its length). Replaces any earlier mapping: its
  // pointers become invalid.
  Status map(int fd, uint64_t size, const std::string& path);
  void unmap();
  bool mapped() const { return base_ != nullptr; }
  const char* data() const { return static_cast<const char*>(base_); }
  uint64_t size() const { return size_; }

  // Maps the file's pages in on a thread of its own, up to kWindow bytes
  // ahead of the position the reader reports with advance(), and drops
  // those behind, so that the reader's thread does not stop at a page
  // fault every few pages (on a virtual machine they cost as much as
  // copying the data). Runs until the end of the mapping or unmap(). Best
  // effort: without it, or if the kernel refuses, the pages fault in as
  // they are touched.
  //
  // With max_batch > 0 it also checks the CRC-32C of the batches it maps
  // in, walking them by their length fields from `from` (a batch start),
  // on the second core; it stops at the first batch it cannot vouch for.
  void prefetch_ahead(uint64_t from, size_t max_batch = 0);
  // Did the prefetcher find the batch that starts at pos whole, with a
  // good CRC? (Only batches on its walk from `from` are ever said so, and a
  // reader that moves elsewhere restarts the prefetcher.)
  bool crc_checked(uint64_t pos) const {
    return pos >= verify_from_.load(std::memory_order_acquire) && pos < verified_to_.load(std::memory_order_acquire);
  }
  // The reader has got to file position pos (cheap: an atomic store and
  // two compares; a wake-up only when the prefetcher waits for it).
  void advance(uint64_t pos) {
    pos_.store(pos);
    if (pos >= wake_at_.load())
      wake_prefetcher();
    else if (!prefetcher_.joinable() && pos >= drop_at_)  // else the prefetcher drops
      drop_behind(pos);
  }

 private:
  void stop_prefetcher();
  void wake_prefetcher();
  void prefetch_loop(uint64_t from, size_t max_batch);
  // Checks the CRCs of the batches from verified_to_ that end by `to`.
  void verify_up_to(uint64_t to, size_t max_batch);
  // Drops the pages more than kWindow behind pos; true if it dropped any.
  bool drop_behind(uint64_t pos);

  void* base_ = nullptr;
  size_t reserved_ = 0;  // bytes of address space, file pages and zero tail
  uint64_t size_ = 0;
  uint64_t dropped_to_ = 0;  // pages below it were dropped
  uint64_t drop_at_ = 0;     // the reader drops more when it gets here
  std::thread prefetcher_;
  std::atomic<uint64_t> pos_{0};               // the reader's file position
  std::atomic<uint64_t> wake_at_{UINT64_MAX};  // wake the prefetcher when pos_ gets here
  std::atomic<uint32_t> wake_word_{0};         // what it waits on
  std::atomic<bool> stop_{false};
  // [verify_from_, verified_to_): batches found whole and good. Both move
  // up to the reader when it overtakes the walk (its positions are batch
  // starts of the same walk, and it never goes back without a restart).
  std::atomic<uint64_t> verify_from_{0};
  std::atomic<uint64_t> verified_to_{0};  // the end of the last batch found good
  bool verifying_ = false;                // the walk goes on (prefetcher only)
};

}  // namespace kappa
