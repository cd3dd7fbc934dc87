// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
// Backed by ISA-L's crc32_iscsi, which uses the SSE4.2/PCLMUL paths when
// the CPU has them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kappa {

// The standard CRC-32C of data[0, n): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t n);

// Continues a CRC-32C: crc32c_extend(crc32c(a), b) == crc32c(a ++ b).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);

}  // namespace kappa
