#include "io/sync_files.h"

#include <liburing.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <thread>

namespace kappa {

namespace {

constexpr unsigned kRingEntries = 256;
// io_uring runs each fsync on a kernel worker; by default it starts at most
// 4 per CPU for file work, too few to have hundreds in flight.
constexpr unsigned kRingWorkers = 64;
constexpr size_t kThreads = 16;

int fdatasync_errno(int fd) {
  int rc;
  do rc = ::fdatasync(fd);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

// False if the ring cannot be used; then the caller syncs every file
// another way (one synced twice is harmless).
bool sync_on_ring(std::span<const int> fds, std::vector<int>* errs) {
  io_uring ring;
  unsigned entries = static_cast<unsigned>(std::min<size_t>(fds.size(), kRingEntries));
  if (io_uring_queue_init(entries, &ring, 0) != 0) return false;
  unsigned workers[2] = {kRingWorkers, kRingWorkers};
  (void)io_uring_register_iowq_max_workers(&ring, workers);  // best effort
  size_t next = 0, done = 0;
  while (done < fds.size()) {
    io_uring_sqe* sqe;
    while (next < fds.size() && next - done < entries && (sqe = io_uring_get_sqe(&ring))) {
      io_uring_prep_fsync(sqe, fds[next], IORING_FSYNC_DATASYNC);
      io_uring_sqe_set_data64(sqe, next);
      next++;
    }
    int rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR) {
      io_uring_queue_exit(&ring);
      return false;
    }
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      (*errs)[io_uring_cqe_get_data64(cqe)] = cqe->res < 0 ? -cqe->res : 0;
      seen++;
    }
    io_uring_cq_advance(&ring, seen);
    done += seen;
  }
  io_uring_queue_exit(&ring);
  return true;
}

void sync_on_threads(std::span<const int> fds, std::vector<int>* errs) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < fds.size();) (*errs)[i] = fdatasync_errno(fds[i]);
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min(fds.size(), kThreads); t++) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // fewer threads: the rest is done by those there are
    }
  }
  work();
  for (auto& t : threads) t.join();
}

}  // namespace

void sync_files(std::span<const int> fds, std::vector<int>* errs) {
  errs->assign(fds.size(), 0);
  if (fds.empty()) return;
  if (fds.size() == 1) {
    (*errs)[0] = fdatasync_errno(fds[0]);
    return;
  }
  const char* env = std::getenv("KAPPA_IO");
  bool uring = !(env && std::strcmp(env, "posix") == 0);
  if (uring && sync_on_ring(fds, errs)) return;
  sync_on_threads(fds, errs);
}

}  // namespace kappa
