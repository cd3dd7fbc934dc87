// pread/pwrite/fdatasync: the fallback backend, synchronous underneath.
#include <unistd.h>

#include <cerrno>

#include "io/io_backend.h"

namespace kappa {
namespace {

Status pwrite_all(int fd, const char* p, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("write", errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return Status::OK();
}

Result<size_t> pread_all(int fd, char* p, size_t n, uint64_t off) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, p + done, n - done, static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("read", errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

class posix_backend final : public io_backend {
 public:
  const char* name() const override { return "posix"; }
  Status submit_write(int fd, const void* buf, size_t n, uint64_t off) override {
    return pwrite_all(fd, static_cast<const char*>(buf), n, off);
  }
  Status wait_writes() override { return Status::OK(); }
  Status sync(int fd) override {
    if (::fdatasync(fd) != 0) return Status::FromErrno("fdatasync", errno);
    return Status::OK();
  }
  Status submit_read(int fd, void* buf, size_t n, uint64_t off) override {
    fd_ = fd, buf_ = static_cast<char*>(buf), n_ = n, off_ = off;
    return Status::OK();
  }
  Result<size_t> wait_read() override { return pread_all(fd_, buf_, n_, off_); }
  Result<size_t> read(int fd, void* buf, size_t n, uint64_t off) override {
    return pread_all(fd, static_cast<char*>(buf), n, off);
  }

 private:
  int fd_ = -1;
  char* buf_ = nullptr;
  size_t n_ = 0;
  uint64_t off_ = 0;
};

}  // namespace

std::unique_ptr<io_backend> make_posix_backend() { return std::make_unique<posix_backend>(); }

// Shared with the io_uring backend, which finishes short transfers with them.
Status posix_pwrite_all(int fd, const char* p, size_t n, uint64_t off) { return pwrite_all(fd, p, n, off); }
Result<size_t> posix_pread_all(int fd, char* p, size_t n, uint64_t off) { return pread_all(fd, p, n, off); }

}  // namespace kappa
