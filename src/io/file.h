// Small file-system helpers: an owning file descriptor and the handful of
// directory operations the log needs. Every failure names the path.
#pragma once

#include <string>
#include <vector>

#include "kappa/status.h"

namespace kappa {

// Owns a file descriptor; closes it on destruction.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

Result<unique_fd> open_file(const std::string& path, int flags, int mode = 0644);
Result<uint64_t> file_size(int fd, const std::string& path);
Status truncate_file(int fd, uint64_t size, const std::string& path);
// fsync()s a directory so that entries created or removed in it are durable.
Status sync_dir(const std::string& path);
// mkdir -p.
Status make_dirs(const std::string& path);
bool path_exists(const std::string& path);
// Names (not paths) of the entries of a directory, unsorted.
Result<std::vector<std::string>> list_dir(const std::string& path);
// rm -rf.
Status remove_tree(const std::string& path);
Status remove_file(const std::string& path);
// rename(2), naming both paths on failure.
Status rename_file(const std::string& from, const std::string& to);
// Copies the whole file `from` to a new file `to` (replaced if present) and
// fdatasyncs it.
Status copy_file_synced(const std::string& from, const std::string& to);
// Last modification time in ms since the epoch.
Result<int64_t> file_mtime_ms(const std::string& path);

}  // namespace kappa
