#include "util/crc32c.h"

#include <isa-l/crc.h>

#include <climits>

namespace kappa {

// ISA-L's crc32_iscsi neither pre- nor post-inverts: the standard CRC-32C is
// ~crc32_iscsi(buf, len, ~0). Its length is an int, so feed large inputs in
// pieces.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) {
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  uint32_t state = ~crc;
  while (n > 0) {
    int chunk = n > static_cast<size_t>(INT_MAX / 2) ? INT_MAX / 2 : static_cast<int>(n);
    state = crc32_iscsi(p, chunk, state);
    p += chunk;
    n -= static_cast<size_t>(chunk);
  }
  return ~state;
}

uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }

}  // namespace kappa
