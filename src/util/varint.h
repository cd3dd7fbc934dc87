// Zig-zag varints as Kafka's RecordBatch v2 records use them (protobuf's
// encoding): 7 bits per byte, low group first, high bit = "more follows".
// varint = 32-bit value (at most 5 bytes), varlong = 64-bit (at most 10).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kappa::varint {

inline uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Bytes needed to encode v zig-zagged.
inline size_t size(int64_t v) {
  uint64_t u = zigzag(v);
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    n++;
  }
  return n;
}

// Writes v zig-zagged at p; returns the byte after it.
inline char* put(char* p, int64_t v) {
  uint64_t u = zigzag(v);
  while (u >= 0x80) {
    *p++ = static_cast<char>(u | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<char>(u);
  return p;
}

// Reads a zig-zag varint of at most max_bytes (5 for varint, 10 for varlong)
// from [p, end). Returns the byte after it, or nullptr if it is truncated or
// too long: callers treat that as corruption.
[[gnu::always_inline]] inline const char* get(const char* p, const char* end, int64_t* out, int max_bytes) {
  // Fast path: most lengths and deltas in a batch fit one byte.
  if (p < end && static_cast<signed char>(*p) >= 0) [[likely]] {
    *out = unzigzag(static_cast<unsigned char>(*p));
    return p + 1;
  }
  // And two: record lengths and offset deltas in a batch mostly do.
  if (end - p >= 2 && static_cast<signed char>(p[1]) >= 0) {
    *out = unzigzag((static_cast<uint64_t>(static_cast<unsigned char>(p[0])) & 0x7f) |
                    static_cast<uint64_t>(static_cast<unsigned char>(p[1])) << 7);
    return p + 2;
  }
  uint64_t u = 0;
  for (int shift = 0, i = 0; i < max_bytes; i++, shift += 7) {
    if (p >= end) return nullptr;
    uint64_t b = static_cast<unsigned char>(*p++);
    u |= (b & 0x7f) << shift;
    if (b < 0x80) {
      *out = unzigzag(u);
      return p;
    }
  }
  return nullptr;
}
[[gnu::always_inline]] inline const char* get32(const char* p, const char* end, int64_t* out) {
  return get(p, end, out, 5);
}
[[gnu::always_inline]] inline const char* get64(const char* p, const char* end, int64_t* out) {
  return get(p, end, out, 10);
}

}  // namespace kappa::varint
