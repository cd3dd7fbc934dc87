// The file I/O backend: io_uring (liburing) when the kernel allows it, else
// plain pread/pwrite/fdatasync with the same contract.
//
// One backend serves one sequential user (a partition appender or reader);
// it is not thread-safe. Writes may be asynchronous: submit_write() may
// return before the bytes are written, so the caller must leave the buffer
// untouched until wait_writes() (or sync()) has returned. Reads can be issued
// ahead with submit_read() and collected with wait_read(), so the next chunk
// is in flight while the caller decodes the current one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kappa/status.h"

namespace kappa {

enum class io_kind { automatic, uring, posix };

class io_backend {
 public:
  virtual ~io_backend() = default;
  virtual const char* name() const = 0;

  // Starts writing buf[0, n) at file offset off. The buffer must stay valid
  // and unmodified until wait_writes() returns. At most a few writes are in
  // flight; submitting more first waits for older ones.
  virtual Status submit_write(int fd, const void* buf, size_t n, uint64_t off) = 0;
  // Waits for every submitted write; the first failure is returned (a short
  // write is completed synchronously, never reported as success).
  virtual Status wait_writes() = 0;
  // wait_writes(), then fdatasync(fd): on OK the bytes are durable.
  virtual Status sync(int fd) = 0;

  // Starts reading up to n bytes at off into buf (a read ahead). One such
  // read in flight at a time; REQUIRES: no read-ahead outstanding.
  virtual Status submit_read(int fd, void* buf, size_t n, uint64_t off) = 0;
  // The byte count of the outstanding read-ahead (fewer than asked only at
  // end of file), or the error.
  virtual Result<size_t> wait_read() = 0;
  // A synchronous read, independent of any read-ahead in flight.
  virtual Result<size_t> read(int fd, void* buf, size_t n, uint64_t off) = 0;
};

// The backend to use: `kind`, or for io_kind::automatic the one named by the
// environment variable KAPPA_IO ("uring" or "posix"), else io_uring. When the
// kernel refuses io_uring (seccomp, old kernel) this falls back to posix.
std::unique_ptr<io_backend> make_io_backend(io_kind kind = io_kind::automatic);

// Which backend make_io_backend() picks on this machine, for --version -v.
const char* probe_io_backend_name();

std::unique_ptr<io_backend> make_posix_backend();
// nullptr when io_uring cannot be set up here.
std::unique_ptr<io_backend> make_uring_backend();

}  // namespace kappa
