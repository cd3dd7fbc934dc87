// Kafka's framing: every request and response is an int32 big-endian size
// followed by that many bytes (header, then body).
//
// frame_reassembler turns the bytes read from one connection, in whatever
// pieces they arrive, into whole frames, in order. Each frame is its own
// string, owned by the caller once handed out, so a request decoded from it
// (whose strings are views into it) can outlive later reads on the socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "kappa/status.h"

namespace kappa::wire {

// Width of the size prefix.
inline constexpr size_t kFrameSizeBytes = 4;
// Largest request accepted: Kafka's socket.request.max.bytes default.
inline constexpr int32_t kMaxRequestBytes = 100 * 1024 * 1024;

class frame_reassembler {
 public:
  explicit frame_reassembler(int32_t max_frame_bytes = kMaxRequestBytes) : max_(max_frame_bytes) {}

  // Consumes all of `bytes`; every frame they complete is queued for next().
  // Returns Invalid, naming the size and the limit, when a size prefix is
  // negative or over the limit; the connection cannot be resynchronised
  // after that, so the error is sticky (later calls return it again) and the
  // caller closes the connection. Frames completed before the bad prefix are
  // still handed out by next().
  // Memory: a frame's buffer grows with the bytes that arrive, not with the
  // size its prefix claims.
  Status feed(std::string_view bytes);

  // The oldest whole frame without its size prefix, or nullopt if none is
  // complete yet.
  std::optional<std::string> next();

  // Bytes of the frame still being received (prefix included).
  size_t partial_bytes() const { return have_size_ + partial_.size(); }

 private:
  int32_t max_;
  char size_buf_[kFrameSizeBytes] = {};
  size_t have_size_ = 0;  // bytes of the current prefix received
  int32_t size_ = 0;      // the current frame's size, once have_size_ == 4
  std::string partial_;
  std::deque<std::string> ready_;
  Status error_;
};

// For encoders: appends a placeholder size prefix and returns where it is.
size_t begin_frame(std::string& out);
// Fills in the prefix written by begin_frame with the bytes written since.
// `extra`: bytes of the frame sent from elsewhere (holes, schema.h).
void end_frame(std::string& out, size_t frame_start, uint64_t extra = 0);

}  // namespace kappa::wire
