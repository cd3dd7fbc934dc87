// Kafka's version rule for zstd (KIP-110): a client shows it knows zstd by
// the request version it sends, Produce v7 for writing it and Fetch v10 for
// reading it.
//
// Produce: a zstd batch in Produce v3-6 is refused with
// UNSUPPORTED_COMPRESSION_TYPE for its partition and nothing is appended
// (Kafka: ProduceRequest.validateRecords). sarama 1.22 at Version 2.1 does
// send that: zstd inside Produce v3.
//
// Fetch: Kafka refuses Fetch v4-9 only for a topic whose compression.type
// config is zstd (KafkaApis maybeConvertFetchedData); at its default,
// compression.type=producer, it serves stored zstd batches to every Fetch
// version unchanged. kappa topics have no compression.type, so they behave
// like that default: nothing is refused on fetch. The clients still sending
// old Fetch versions read zstd anyway (kafka-python 2.0.2 always sends v4,
// sarama 1.22 v4 at Version >= 0.11).
#pragma once

#include <cstdint>
#include <string_view>

namespace kappa::broker {

// Kafka's UNSUPPORTED_COMPRESSION_TYPE.
inline constexpr int16_t kUnsupportedCompressionType = 76;
// The first Produce version that may carry zstd batches.
inline constexpr int16_t kProduceZstdSince = 7;

// True if any RecordBatch in `records` (a Produce request's record set) is
// zstd-compressed. Only the batch headers are read; a batch cut short ends
// the walk (the append that follows reports it).
bool carries_zstd(std::string_view records);

}  // namespace kappa::broker
