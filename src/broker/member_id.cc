#include "broker/member_id.h"

#include <cstdint>

namespace kappa::broker {

std::string new_member_id(std::string_view client_id, std::mt19937_64& rng) {
  // A version 4 UUID in its usual text form, like Java's UUID.randomUUID().
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                      // version 4
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(client_id);
  id += '-';
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) id += kHex[(v >> (4 * i)) & 0xf];
  };
  put(hi >> 32, 8);
  id += '-';
  put(hi >> 16, 4);
  id += '-';
  put(hi, 4);
  id += '-';
  put(lo >> 48, 4);
  id += '-';
  put(lo, 12);
  return id;
}

}  // namespace kappa::broker
