// Kafka's default partitioner: murmur2 of the key bytes (the Java client's
// Utils.murmur2, seed 0x9747b28c), made positive, modulo the partition count.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kappa {

int32_t murmur2(const void* key, size_t n);

// Utils.toPositive(murmur2(key)) % partitions. REQUIRES: partitions > 0.
int32_t kafka_partition_for_key(const void* key, size_t n, int32_t partitions);

}  // namespace kappa
