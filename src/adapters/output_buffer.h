// Buffered writes to a file descriptor (stdout) in large blocks: one write(2)
// per ~1 MiB, not per record.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>
#include <vector>

namespace kappa {

class output_buffer {
 public:
  explicit output_buffer(int fd, size_t capacity = 1u << 20) : fd_(fd), buf_(capacity) {}
  ~output_buffer() { flush(); }

  void put(std::string_view s) {
    if (s.empty()) return;  // a null value's view has no data pointer
    if (s.size() > buf_.size() - len_) {
      if (!flush()) return;
      if (s.size() > buf_.size()) {
        write_all(s.data(), s.size());
        return;
      }
    }
    std::memcpy(buf_.data() + len_, s.data(), s.size());
    len_ += s.size();
  }
  void put(char c) {
    if (len_ == buf_.size() && !flush()) return;
    buf_[len_++] = c;
  }
  // Writes what is buffered. False once a write failed (EPIPE: the reader
  // went away); later writes are dropped.
  bool flush();
  bool failed() const { return err_ != 0; }
  int error() const { return err_; }

 private:
  bool write_all(const char* p, size_t n);
  int fd_;
  std::vector<char> buf_;
  size_t len_ = 0;
  int err_ = 0;
};

}  // namespace kappa
