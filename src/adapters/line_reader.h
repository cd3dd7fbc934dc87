// Splits an input stream (stdin) into lines without a copy per line.
//
// A line is the bytes before '\n' (a '\r' before it stays part of the
// line); a last line without '\n' still counts. Each returned line stays
// valid until the next call, and has at least kLinePadding readable bytes
// after it (simdjson's padding requirement).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace kappa {

inline constexpr size_t kLinePadding = 64;

class line_reader {
 public:
  enum class result { line, eof, timeout, too_long, error };

  // max_line bounds memory: a longer line is skipped and reported as
  // too_long (with its number), never buffered whole.
  line_reader(int fd, size_t max_line);

  // The next line into *line. With a deadline (steady clock), returns
  // `timeout` when no whole line has arrived by then (slow input); the
  // clock is only read when the reader would otherwise block.
  using clock = std::chrono::steady_clock;
  result next(std::string_view* line, clock::time_point deadline = clock::time_point::max());
  // 1-based number of the line last returned (or skipped as too long).
  uint64_t line_number() const { return line_no_; }
  int error() const { return errno_; }
  uint64_t bytes_read() const { return bytes_; }

 private:
  int fd_;
  size_t max_line_;
  std::vector<char> buf_;
  size_t start_ = 0, end_ = 0;  // unconsumed bytes: buf_[start_, end_)
  size_t scanned_ = 0;          // bytes after start_ known to hold no '\n'
  bool eof_ = false, discarding_ = false;
  uint64_t line_no_ = 0, bytes_ = 0;
  int errno_ = 0;
};

}  // namespace kappa
