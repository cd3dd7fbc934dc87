#include "log/partition_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "kappa/log/format.h"

namespace kappa {

static std::string read_holder(int fd) {
  char buf[64] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<partition_lock> partition_lock::acquire_writer(const std::string& dir, const std::string& what,
                                                     const std::string& label, bool wait_for_brief) {
  std::string path = dir + "/" + format::kWriterLockFile;
  KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(path, O_RDWR | O_CREAT));
  // An empty pid field means a reader is briefly recovering the partition,
  // and a brief writer gives the lock back between its rounds: wait for
  // those rather than refusing the writer (10 s and 30 s at most).
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) break;
    if (errno != EWOULDBLOCK) return Status::FromErrno("lock " + path, errno);
    std::string holder = read_holder(fd.get());
    bool brief = holder.find(kBriefWriterLabel) != std::string::npos;
    auto waited = clock::now() - start;
    bool wait = holder.empty() ? waited < std::chrono::seconds(10)
                               : brief && wait_for_brief && waited < std::chrono::seconds(30);
    if (!wait)
      return Status::Busy(what + " is being written by another process (pid " +
                          (holder.empty() ? std::string("unknown") : holder) + ", lock file " + path +
                          "); stop it or wait for it to finish");
    // A brief holder's rounds take about a millisecond: poll finely.
    std::this_thread::sleep_for(std::chrono::milliseconds(brief ? 1 : 10));
  }
  std::string pid = std::to_string(::getpid()) + (label.empty() ? "" : " " + label) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return Status::FromErrno("write " + path, errno);
  partition_lock l;
  l.fd_ = std::move(fd);
  return l;
}

partition_lock partition_lock::try_acquire_for_recovery(const std::string& dir) {
  partition_lock l;
  auto fd = open_file(dir + "/" + format::kWriterLockFile, O_RDWR | O_CREAT);
  if (!fd.ok()) return l;
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) return l;
  if (::ftruncate(fd->get(), 0) != 0) return l;
  l.fd_ = std::move(fd.value());
  return l;
}

Result<partition_lock> partition_lock::lock_file(const std::string& path, bool wait) {
  KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(path, O_RDWR | O_CREAT));
  partition_lock l;
  while (::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return l;
    return Status::FromErrno("lock " + path, errno);
  }
  l.fd_ = std::move(fd);
  l.truncate_on_release_ = false;
  return l;
}

partition_lock partition_lock::try_acquire_cleaner(const std::string& dir) {
  auto l = lock_file(dir + "/" + format::kCleanerLockFile, false);
  return l.ok() ? std::move(l.value()) : partition_lock();
}

Result<partition_lock> partition_lock::acquire_cleaner(const std::string& dir) {
  return lock_file(dir + "/" + format::kCleanerLockFile, true);
}

void partition_lock::release() {
  if (fd_.valid()) {
    // Leave no pid behind: the next holder writes its own.
    if (truncate_on_release_) (void)::ftruncate(fd_.get(), 0);
    ::flock(fd_.get(), LOCK_UN);
    fd_ = unique_fd();
  }
}

}  // namespace kappa
