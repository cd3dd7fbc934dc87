// io_uring backend: writes are queued and reaped later so the caller can
// encode the next batch while the kernel copies this one; fdatasync goes
// through the ring after the writes it must follow; reads run one ahead.
#include <liburing.h>

#include <cerrno>

#include "io/io_backend.h"

namespace kappa {

Status posix_pwrite_all(int fd, const char* p, size_t n, uint64_t off);
Result<size_t> posix_pread_all(int fd, char* p, size_t n, uint64_t off);

namespace {

constexpr unsigned kQueueDepth = 8;
constexpr unsigned kMaxWritesInFlight = 4;
constexpr uint64_t kReadTag = ~uint64_t{0};

class uring_backend final : public io_backend {
 public:
  uring_backend() = default;
  ~uring_backend() override {
    if (!initialized_) return;
    (void)wait_writes();
    if (read_in_flight_) (void)wait_read();
    io_uring_queue_exit(&ring_);
  }
  bool init() { return initialized_ = io_uring_queue_init(kQueueDepth, &ring_, 0) == 0; }
  const char* name() const override { return "io_uring"; }

  Status submit_write(int fd, const void* buf, size_t n, uint64_t off) override {
    if (writes_in_flight_ >= kMaxWritesInFlight) KAPPA_RETURN_IF_ERROR(wait_writes());
    unsigned slot = 0;
    while (writes_[slot].busy) slot++;
    writes_[slot] = {true, fd, static_cast<const char*>(buf), n, off};
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    io_uring_prep_write(sqe, fd, buf, static_cast<unsigned>(n), off);
    // Punt to a kernel worker so the page-cache copy runs on another core
    // while the caller encodes the next buffer.
    io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
    io_uring_sqe_set_data64(sqe, slot);
    int rc = io_uring_submit(&ring_);
    if (rc < 0) {
      writes_[slot].busy = false;
      return posix_pwrite_all(fd, static_cast<const char*>(buf), n, off);
    }
    writes_in_flight_++;
    return Status::OK();
  }

  Status wait_writes() override {
    Status first;
    while (writes_in_flight_ > 0) {
      Status st = reap_one();
      if (first.ok() && !st.ok()) first = st;
    }
    return first;
  }

  Status sync(int fd) override {
    KAPPA_RETURN_IF_ERROR(wait_writes());
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(sqe, kSyncTag);
    if (io_uring_submit(&ring_) < 0) return Status::FromErrno("fdatasync", errno);
    sync_in_flight_ = true;
    while (sync_in_flight_) KAPPA_RETURN_IF_ERROR(reap_one());
    if (sync_res_ < 0) return Status::FromErrno("fdatasync", -sync_res_);
    return Status::OK();
  }

  Status submit_read(int fd, void* buf, size_t n, uint64_t off) override {
    read_ = {true, fd, static_cast<const char*>(buf), n, off};
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    io_uring_prep_read(sqe, fd, buf, static_cast<unsigned>(n), off);
    io_uring_sqe_set_data64(sqe, kReadTag);
    if (io_uring_submit(&ring_) < 0) {
      read_sync_fallback_ = true;
      return Status::OK();
    }
    read_in_flight_ = true;
    return Status::OK();
  }

  // Through the ring with its own tag, so a read-ahead in flight is left
  // undisturbed.
  Result<size_t> read(int fd, void* buf, size_t n, uint64_t off) override {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) return posix_pread_all(fd, static_cast<char*>(buf), n, off);
    io_uring_prep_read(sqe, fd, buf, static_cast<unsigned>(n), off);
    io_uring_sqe_set_data64(sqe, kSyncReadTag);
    if (io_uring_submit(&ring_) < 0) return posix_pread_all(fd, static_cast<char*>(buf), n, off);
    sync_read_in_flight_ = true;
    while (sync_read_in_flight_) KAPPA_RETURN_IF_ERROR(reap_one());
    if (sync_read_res_ < 0) return Status::FromErrno("read", -sync_read_res_);
    size_t got = static_cast<size_t>(sync_read_res_);
    if (got > 0 && got < n) {  // finish a short read; only 0 means end of file
      auto rest = posix_pread_all(fd, static_cast<char*>(buf) + got, n - got, off + got);
      if (!rest.ok()) return rest.status();
      got += rest.value();
    }
    return got;
  }

  Result<size_t> wait_read() override {
    if (read_sync_fallback_) {
      read_sync_fallback_ = false;
      return posix_pread_all(read_.fd, const_cast<char*>(read_.p), read_.n, read_.off);
    }
    while (read_in_flight_) KAPPA_RETURN_IF_ERROR(reap_one());
    if (read_res_ < 0) return Status::FromErrno("read", -read_res_);
    size_t got = static_cast<size_t>(read_res_);
    if (got > 0 && got < read_.n) {
      // A short read is not necessarily end of file: finish it synchronously.
      auto rest = posix_pread_all(read_.fd, const_cast<char*>(read_.p) + got, read_.n - got, read_.off + got);
      if (!rest.ok()) return rest.status();
      got += rest.value();
    }
    return got;
  }

 private:
  static constexpr uint64_t kSyncTag = kReadTag - 1;
  static constexpr uint64_t kSyncReadTag = kReadTag - 2;
  struct op {
    bool busy = false;
    int fd = -1;
    const char* p = nullptr;
    size_t n = 0;
    uint64_t off = 0;
  };

  // Reaps one completion and files its result.
  Status reap_one() {
    io_uring_cqe* cqe = nullptr;
    int rc;
    do rc = io_uring_wait_cqe(&ring_, &cqe);
    while (rc == -EINTR);
    if (rc < 0) return Status::FromErrno("io_uring_wait_cqe", -rc);
    uint64_t tag = io_uring_cqe_get_data64(cqe);
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    if (tag == kReadTag) {
      read_in_flight_ = false;
      read_res_ = res;
      return Status::OK();
    }
    if (tag == kSyncReadTag) {
      sync_read_in_flight_ = false;
      sync_read_res_ = res;
      return Status::OK();
    }
    if (tag == kSyncTag) {
      sync_in_flight_ = false;
      sync_res_ = res;
      return Status::OK();
    }
    op& w = writes_[tag];
    w.busy = false;
    writes_in_flight_--;
    if (res < 0) return Status::FromErrno("write", -res);
    if (static_cast<size_t>(res) < w.n) return posix_pwrite_all(w.fd, w.p + res, w.n - res, w.off + res);
    return Status::OK();
  }

  io_uring ring_{};
  bool initialized_ = false;
  op writes_[kMaxWritesInFlight];
  unsigned writes_in_flight_ = 0;
  op read_;
  bool read_in_flight_ = false, read_sync_fallback_ = false, sync_in_flight_ = false;
  int read_res_ = 0, sync_res_ = 0, sync_read_res_ = 0;
  bool sync_read_in_flight_ = false;
};

}  // namespace

std::unique_ptr<io_backend> make_uring_backend() {
  auto b = std::make_unique<uring_backend>();
  if (!b->init()) return nullptr;
  return b;
}

}  // namespace kappa
