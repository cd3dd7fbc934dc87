#include "wire/reader.h"

#include "util/big_endian.h"

namespace kappa::wire {

void reader::fail(const std::string& what) {
  if (failed_) return;
  failed_ = true;
  error_ = what + " at byte " + std::to_string(p_ - begin_) + " of " + std::to_string(end_ - begin_);
  p_ = end_;  // nothing more is read after an error
}

bool reader::need(size_t n) {
  if (failed_) return false;
  if (remaining() < n) {
    fail("truncated: " + std::to_string(n) + " bytes needed, " + std::to_string(remaining()) + " left");
    return false;
  }
  return true;
}

void reader::i8(int8_t& v, version_range in) {
  if (!in.contains(version_) || !need(1)) return;
  v = static_cast<int8_t>(*p_++);
}
void reader::i16(int16_t& v, version_range in) {
  if (!in.contains(version_) || !need(2)) return;
  v = static_cast<int16_t>(be::load16(p_));
  p_ += 2;
}
void reader::i32(int32_t& v, version_range in) {
  if (!in.contains(version_) || !need(4)) return;
  v = static_cast<int32_t>(be::load32(p_));
  p_ += 4;
}
void reader::i64(int64_t& v, version_range in) {
  if (!in.contains(version_) || !need(8)) return;
  v = static_cast<int64_t>(be::load64(p_));
  p_ += 8;
}
void reader::boolean(bool& v, version_range in) {
  if (!in.contains(version_) || !need(1)) return;
  v = *p_++ != 0;
}

uint64_t reader::uvarint() {
  // Kafka's unsigned varints carry 32 bits at most: 5 bytes.
  uint64_t u = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!need(1)) return 0;
    uint64_t b = static_cast<unsigned char>(*p_++);
    u |= (b & 0x7f) << shift;
    if (b < 0x80) {
      if (u > UINT32_MAX) break;
      return u;
    }
  }
  fail("unsigned varint longer than 32 bits");
  return 0;
}

int64_t reader::length(bool wide, bool nullable) {
  int64_t n;
  if (flexible_) {
    n = static_cast<int64_t>(uvarint()) - 1;  // N+1, 0 = null
  } else if (wide) {
    int32_t v = 0;
    i32(v);
    n = v;
  } else {
    int16_t v = 0;
    i16(v);
    n = v;
  }
  if (failed_) return 0;
  if (n == -1 && nullable) return -1;
  if (n < 0) {
    fail(n == -1 ? "null where the version allows none" : "negative length " + std::to_string(n));
    return 0;
  }
  if (static_cast<uint64_t>(n) > remaining()) {
    fail("length " + std::to_string(n) + " runs past the end (" + std::to_string(remaining()) + " bytes left)");
    return 0;
  }
  return n;
}

int64_t reader::array_length(bool nullable, size_t min_element_bytes) {
  int64_t n;
  if (flexible_) {
    n = static_cast<int64_t>(uvarint()) - 1;
  } else {
    int32_t v = 0;
    i32(v);
    n = v;
  }
  if (failed_) return 0;
  if (n == -1 && nullable) return -1;
  if (n < 0) {
    fail(n == -1 ? "null array where the version allows none" : "negative array count " + std::to_string(n));
    return 0;
  }
  if (static_cast<uint64_t>(n) > remaining() / min_element_bytes) {
    fail("array count " + std::to_string(n) + " cannot fit in the " + std::to_string(remaining()) + " bytes left");
    return 0;
  }
  return n;
}

void reader::string(std::string_view& v, version_range in) {
  if (!in.contains(version_) || failed_) return;
  int64_t n = length(false, false);
  if (failed_) return;
  v = std::string_view(p_, static_cast<size_t>(n));
  p_ += n;
}

void reader::nullable_string(std::optional<std::string_view>& v, version_range in, version_range nullable) {
  if (!in.contains(version_) || failed_) return;
  int64_t n = length(false, nullable.contains(version_));
  if (failed_) return;
  if (n < 0) {
    v.reset();
    return;
  }
  v = std::string_view(p_, static_cast<size_t>(n));
  p_ += n;
}

void reader::bytes(std::string_view& v, version_range in) {
  if (!in.contains(version_) || failed_) return;
  int64_t n = length(true, false);
  if (failed_) return;
  v = std::string_view(p_, static_cast<size_t>(n));
  p_ += n;
}

void reader::records(std::optional<std::string_view>& v, version_range in) {
  if (!in.contains(version_) || failed_) return;
  int64_t n = length(true, true);
  if (failed_) return;
  if (n < 0) {
    v.reset();
    return;
  }
  v = std::string_view(p_, static_cast<size_t>(n));
  p_ += n;
}

void reader::int32s(std::vector<int32_t>& v, version_range in) {
  if (!in.contains(version_) || failed_) return;
  int64_t n = array_length(false, 4);
  v.clear();
  if (failed_) return;
  v.reserve(static_cast<size_t>(n));  // n * 4 <= remaining(): bounded by the input
  for (int64_t i = 0; i < n && !failed_; i++) i32(v.emplace_back());
}

void reader::strings(std::vector<std::string_view>& v, version_range in) {
  if (!in.contains(version_) || failed_) return;
  int64_t n = array_length(false, flexible_ ? 1 : 2);
  v.clear();
  for (int64_t i = 0; i < n && !failed_; i++) string(v.emplace_back());
}

void reader::nullable_strings(std::optional<std::vector<std::string_view>>& v, version_range in,
                              version_range nullable) {
  if (!in.contains(version_) || failed_) return;
  int64_t n = array_length(nullable.contains(version_), flexible_ ? 1 : 2);
  if (failed_) return;
  if (n < 0) {
    v.reset();
    return;
  }
  v.emplace();
  for (int64_t i = 0; i < n && !failed_; i++) string(v->emplace_back());
}

void reader::tagged_fields() {
  if (!flexible_ || failed_) return;
  uint64_t count = uvarint();
  for (uint64_t i = 0; i < count && !failed_; i++) {
    uvarint();  // tag
    uint64_t size = uvarint();
    if (need(size)) p_ += size;
  }
}

Status reader::finish() const {
  if (failed_) return Status::Corruption(error_);
  if (p_ != end_) {
    return Status::Corruption(std::to_string(end_ - p_) + " unexpected bytes after the message (at byte " +
                              std::to_string(p_ - begin_) + ")");
  }
  return Status::OK();
}

}  // namespace kappa::wire
