#include "wire/frame.h"

#include <algorithm>

#include "util/big_endian.h"

namespace kappa::wire {

namespace {
// Buffer reserved up front for a frame: enough for most requests in one go,
// and small enough that a hostile size prefix reserves little.
constexpr size_t kInitialReserve = 64 * 1024;
}  // namespace

Status frame_reassembler::feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  while (!bytes.empty()) {
    if (have_size_ < kFrameSizeBytes) {
      size_t n = std::min(kFrameSizeBytes - have_size_, bytes.size());
      std::copy_n(bytes.data(), n, size_buf_ + have_size_);
      have_size_ += n;
      bytes.remove_prefix(n);
      if (have_size_ < kFrameSizeBytes) break;
      size_ = static_cast<int32_t>(be::load32(size_buf_));
      if (size_ < 0 || size_ > max_) {
        error_ = Status::Invalid("frame size " + std::to_string(size_) + " is " +
                                 (size_ < 0 ? "negative" : "over the limit of " + std::to_string(max_) + " bytes"));
        return error_;
      }
      partial_.clear();
      partial_.reserve(std::min(static_cast<size_t>(size_), kInitialReserve));
    }
    size_t n = std::min(static_cast<size_t>(size_) - partial_.size(), bytes.size());
    partial_.append(bytes.data(), n);
    bytes.remove_prefix(n);
    if (partial_.size() == static_cast<size_t>(size_)) {
      ready_.push_back(std::move(partial_));
      partial_ = std::string();
      have_size_ = 0;
    }
  }
  return Status::OK();
}

std::optional<std::string> frame_reassembler::next() {
  if (ready_.empty()) return std::nullopt;
  std::string f = std::move(ready_.front());
  ready_.pop_front();
  return f;
}

size_t begin_frame(std::string& out) {
  size_t at = out.size();
  out.append(kFrameSizeBytes, '\0');
  return at;
}

void end_frame(std::string& out, size_t frame_start, uint64_t extra) {
  be::store32(out.data() + frame_start, static_cast<uint32_t>(out.size() - frame_start - kFrameSizeBytes + extra));
}

}  // namespace kappa::wire
