#include "adapters/output_buffer.h"

#include <unistd.h>

#include <cerrno>

namespace kappa {

bool output_buffer::write_all(const char* p, size_t n) {
  while (n > 0 && err_ == 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      err_ = errno;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return err_ == 0;
}

bool output_buffer::flush() {
  if (err_) return false;
  bool ok = write_all(buf_.data(), len_);
  len_ = 0;
  return ok;
}

}  // namespace kappa
