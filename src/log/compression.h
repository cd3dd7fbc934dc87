// The compression codecs of Kafka's RecordBatch (attributes bits 0-2): the
// records section of a batch (everything after the 61-byte header) is
// compressed as one stream. What each codec's bytes are, as Kafka's
// clients write them:
//   gzip    a gzip member (RFC 1952); zlib-wrapped input is read too
//   snappy  the Java client's xerial framing: an 8-byte magic "\x82SNAPPY\0",
//           two big-endian int32 (version, compatible version), then blocks of
//           [int32 big-endian length][raw snappy block]; librdkafka also
//           writes one plain raw snappy block, which is read too. Written
//           xerial-framed, which every client reads.
//   lz4     the LZ4 frame format (not raw blocks), 64 KiB independent blocks
//   zstd    a zstd frame
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kappa/record.h"
#include "kappa/status.h"

namespace kappa {

// "none", "gzip", ... for attribute bits 0-2; "unknown" past zstd.
const char* codec_name(int attribute_bits);
// Parses a codec name as kcat's -z and Kafka's compression.type spell them.
Result<codec> parse_codec(std::string_view name);

// Appends the compressed form of [p, p + n) to *out.
Status compress(codec c, const char* p, size_t n, std::vector<char>* out);

// Decompresses [p, p + n) into *out: on OK its first *size bytes are the
// data and at least kDecompressPadding zero bytes follow (readers may read a
// little past a value). Corruption if the bytes are not a valid stream of
// that codec or would decompress to more than `limit` bytes, so damaged or
// hostile input never drives an unbounded allocation. *out is reused: it
// only grows.
inline constexpr size_t kDecompressPadding = 64;
Status decompress(codec c, const char* p, size_t n, size_t limit, std::vector<char>* out, size_t* size);

}  // namespace kappa
