#include "adapters/line_reader.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kappa {

static constexpr size_t kChunk = 1u << 20;

line_reader::line_reader(int fd, size_t max_line) : fd_(fd), max_line_(max_line), buf_(kChunk + kLinePadding) {}

line_reader::result line_reader::next(std::string_view* line, clock::time_point deadline) {
  for (;;) {
    const char* base = buf_.data() + start_;
    if (auto* nl = static_cast<const char*>(std::memchr(base + scanned_, '\n', end_ - start_ - scanned_))) {
      size_t n = static_cast<size_t>(nl - base);
      start_ += n + 1;
      scanned_ = 0;
      line_no_++;
      if (discarding_ || n > max_line_) {
        discarding_ = false;
        return result::too_long;
      }
      *line = std::string_view(base, n);
      return result::line;
    }
    scanned_ = end_ - start_;
    if (eof_) {
      if (end_ == start_ && !discarding_) return result::eof;
      line_no_++;
      scanned_ = 0;
      size_t n = end_ - start_;
      start_ = end_;
      if (discarding_ || n > max_line_) {
        discarding_ = false;
        return result::too_long;
      }
      *line = std::string_view(buf_.data() + end_ - n, n);
      return result::line;
    }
    // Need more bytes: make room (slide, grow, or drop an overlong line).
    if (end_ - start_ > max_line_) {
      discarding_ = true;
      start_ = end_;
      scanned_ = 0;
    }
    if (start_ > 0) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (buf_.size() - kLinePadding - end_ < kChunk / 4) buf_.resize((buf_.size() - kLinePadding) * 2 + kLinePadding);
    if (deadline != clock::time_point::max()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
      int timeout_ms = static_cast<int>(std::max<int64_t>(0, left));
      pollfd p{fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, timeout_ms);
      if (rc == 0) return result::timeout;
      if (rc < 0 && errno != EINTR) {
        errno_ = errno;
        return result::error;
      }
    }
    ssize_t r = ::read(fd_, buf_.data() + end_, buf_.size() - kLinePadding - end_);
    if (r < 0) {
      if (errno == EINTR) continue;
      errno_ = errno;
      return result::error;
    }
    if (r == 0) eof_ = true;
    end_ += static_cast<size_t>(r);
    bytes_ += static_cast<uint64_t>(r);
  }
}

}  // namespace kappa
