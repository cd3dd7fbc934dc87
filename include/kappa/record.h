// kappa/record.h — a record as the log hands it out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kappa {

// A byte string that may be null (Kafka distinguishes a null key or value —
// a tombstone — from an empty one).
struct bytes_view {
  const char* data = nullptr;
  int32_t size = -1;  // -1 = null
  bool is_null() const { return size < 0; }
  std::string_view view() const {
    return is_null() ? std::string_view() : std::string_view(data, static_cast<size_t>(size));
  }
  static bytes_view null() { return {}; }
  static bytes_view of(std::string_view s) { return {s.data(), static_cast<int32_t>(s.size())}; }
};

// How a batch's records are compressed: Kafka's codecs, numbered as in the
// RecordBatch attributes (bits 0-2). Readers handle them all.
enum class codec : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// One record header: a string key and a nullable value.
struct record_header {
  std::string_view key;
  bytes_view value;
};

// A record inside a batch that is being read. Points into the reader's
// buffer: valid until the reader moves on to its next batch.
struct record_view {
  int64_t offset = 0;
  int64_t timestamp = 0;  // ms since the epoch (CreateTime)
  bytes_view key;
  bytes_view value;
  int32_t header_count = 0;
  const char* headers = nullptr;  // encoded headers, see record_headers()
  const char* headers_end = nullptr;
};

// Decodes the i-th header of r into *out; false when there is none.
bool record_header_at(const record_view& r, int32_t i, record_header* out);

}  // namespace kappa
