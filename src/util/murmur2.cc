#include "util/murmur2.h"

namespace kappa {

// Written from the algorithm's description; the arithmetic is done on
// unsigned 32-bit values, which is what Java's int overflow yields.
int32_t murmur2(const void* key, size_t n) {
  const auto* data = static_cast<const unsigned char*>(key);
  const uint32_t seed = 0x9747b28cu;
  const uint32_t m = 0x5bd1e995u;
  const int r = 24;
  uint32_t h = seed ^ static_cast<uint32_t>(n);
  size_t words = n / 4;
  for (size_t i = 0; i < words; i++) {
    const unsigned char* p = data + 4 * i;
    uint32_t k = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
                 static_cast<uint32_t>(p[3]) << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const unsigned char* tail = data + 4 * words;
  switch (n % 4) {
    case 3: h ^= static_cast<uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1: h ^= static_cast<uint32_t>(tail[0]); h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t kafka_partition_for_key(const void* key, size_t n, int32_t partitions) {
  uint32_t positive = static_cast<uint32_t>(murmur2(key, n)) & 0x7fffffffu;
  return static_cast<int32_t>(positive % static_cast<uint32_t>(partitions));
}

}  // namespace kappa
