// Buffered writes to a file descriptor (stdout) in large blocks: one write(2)
// per buffer, not per record.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>
#include <vector>

namespace kappa {

class output_buffer {
 public:
  // Bytes a source must have readable past its end for put_padded().
  static constexpr size_t kSourcePadding = 32;

  explicit output_buffer(int fd, size_t capacity = 256u << 10) : fd_(fd), cap_(capacity), buf_(capacity + kSlack) {}
  ~output_buffer() { flush(); }

  void put(std::string_view s) {
    if (s.empty()) return;  // a null value's view has no data pointer
    if (s.size() > cap_ - len_ && !flush()) return;
    if (s.size() > cap_) {
      write_all(s.data(), s.size());
      return;
    }
    std::memcpy(buf_.data() + len_, s.data(), s.size());
    len_ += s.size();
  }
  // put(s) then put(c), copying in 32-byte blocks that may read up to
  // kSourcePadding bytes past s (REQUIRES: they are readable) — the hot
  // path of `consume`, where values sit inside a larger read buffer.
  void put_padded(std::string_view s, char c) {
    if (s.size() + 1 > cap_ - len_) {
      put(s);
      put(c);
      return;
    }
    char* dst = buf_.data() + len_;
    for (size_t i = 0; i < s.size(); i += 32) std::memcpy(dst + i, s.data() + i, 32);
    dst[s.size()] = c;
    len_ += s.size() + 1;
  }
  void put(char c) {
    if (len_ == cap_ && !flush()) return;
    buf_[len_++] = c;
  }
  // Writes what is buffered. False once a write failed (EPIPE: the reader
  // went away); later writes are dropped.
  bool flush();
  bool failed() const { return err_ != 0; }
  int error() const { return err_; }

 private:
  static constexpr size_t kSlack = 64;  // room for put_padded's last block
  bool write_all(const char* p, size_t n);
  int fd_;
  size_t cap_;
  std::vector<char> buf_;
  size_t len_ = 0;
  int err_ = 0;
};

}  // namespace kappa
