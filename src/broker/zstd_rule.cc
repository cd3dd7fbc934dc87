#include "broker/zstd_rule.h"

#include "kappa/log/format.h"
#include "kappa/record.h"

namespace kappa::broker {

using namespace kappa::format;

namespace {
uint32_t be32(const char* p) {
  auto u = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);
}
}  // namespace

bool carries_zstd(std::string_view records) {
  size_t at = 0;
  while (records.size() - at >= kAttributesOffset + kAttributesSize) {
    const char* b = records.data() + at;
    uint16_t attributes = static_cast<uint16_t>(static_cast<unsigned char>(b[kAttributesOffset]) << 8 |
                                                static_cast<unsigned char>(b[kAttributesOffset + 1]));
    if ((attributes & kCompressionMask) == static_cast<uint16_t>(codec::zstd)) return true;
    uint64_t next = uint64_t{kLogOverhead} + be32(b + kBatchLengthOffset);
    if (next > records.size() - at) break;
    at += static_cast<size_t>(next);
  }
  return false;
}

}  // namespace kappa::broker
