// The one-writer-per-partition lock: flock(2) on <partition dir>/writer.lock.
// The holder writes its pid into the file so a refused writer can name it.
// The kernel drops the lock when the holder dies, even by kill -9, so a
// crashed writer never leaves a stale lock.
#pragma once

#include <string>

#include "io/file.h"
#include "kappa/status.h"

namespace kappa {

class partition_lock {
 public:
  // Takes the lock as a writer, or fails at once (Busy) naming the holder's
  // pid. `what` names the partition in messages ("topic clicks partition 0").
  // A holder that labelled itself a brief writer (kappa serve, which holds
  // a partition only while it writes a round of produce requests) is waited
  // for, up to 30 s, unless `wait_for_brief` is false. `label` follows the
  // pid in the file; kBriefWriterLabel marks a brief writer.
  static Result<partition_lock> acquire_writer(const std::string& dir, const std::string& what,
                                               const std::string& label = "", bool wait_for_brief = true);
  static constexpr const char* kBriefWriterLabel = "(kappa serve)";
  // Takes the lock only if free, for a reader that wants to recover a
  // partition nobody writes. Leaves the pid field empty. Invalid result =
  // someone holds it (or the file cannot be opened for writing).
  static partition_lock try_acquire_for_recovery(const std::string& dir);
  // The cleaner lock (cleaner.lock): held by whoever removes or rewrites
  // sealed segments. try_ returns an unheld lock if someone else has it.
  static partition_lock try_acquire_cleaner(const std::string& dir);
  static Result<partition_lock> acquire_cleaner(const std::string& dir);
  // Any other lock file (e.g. the data dir's budget.lock): waits for it, or
  // with wait=false returns an unheld lock if someone else has it.
  static Result<partition_lock> lock_file(const std::string& path, bool wait);

  partition_lock() = default;
  partition_lock(partition_lock&&) noexcept = default;
  partition_lock& operator=(partition_lock&& o) noexcept {
    release();
    fd_ = std::move(o.fd_);
    truncate_on_release_ = o.truncate_on_release_;
    return *this;
  }
  ~partition_lock() { release(); }

  bool held() const { return fd_.valid(); }
  void release();

 private:
  unique_fd fd_;
  bool truncate_on_release_ = true;  // the writer lock's pid field
};

}  // namespace kappa
