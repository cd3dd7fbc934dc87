// RecordBatch v2: encoding (batch_builder) and checked decoding
// (check_batch + record_iterator). Layout: include/kappa/log/format.h.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kappa/log/format.h"
#include "kappa/record.h"
#include "kappa/status.h"
#include "log/compression.h"
#include "util/varint.h"

namespace kappa {

// The decoded fixed header of a batch.
struct batch_header {
  int64_t base_offset = 0;
  int32_t batch_length = 0;  // bytes after the length field
  int32_t leader_epoch = 0;
  int8_t magic = 0;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = 0;
  int16_t producer_epoch = 0;
  int32_t base_sequence = 0;
  int32_t record_count = 0;

  int64_t last_offset() const { return base_offset + last_offset_delta; }
  // LogAppendTime: every record's timestamp is max_timestamp.
  bool log_append_time() const { return (attributes & format::kTimestampTypeLogAppend) != 0; }
  size_t total_size() const { return static_cast<size_t>(batch_length) + format::kLogOverhead; }
};

enum class batch_state {
  ok,          // a whole batch with a valid CRC
  incomplete,  // the bytes end before the batch does (a torn or in-flight tail)
  corrupt,     // a whole-length batch that fails a structural check or its CRC
};

// Checks the batch at [p, p + avail). max_batch_bytes bounds the length field
// so a damaged length never makes a caller allocate or wait for gigabytes.
// On ok, *h is the header; on corrupt, *why says what is wrong.
// crc_checked: the CRC was already found good (by segment_map's
// prefetcher): everything else is still checked.
batch_state check_batch(const char* p, size_t avail, size_t max_batch_bytes, batch_header* h, std::string* why,
                        bool crc_checked = false);

// The total size a batch's length field claims. REQUIRES: at least
// kLogOverhead bytes at p, and check_batch() did not call the length corrupt.
size_t batch_total_size(const char* p);

// Only the fixed fields, no CRC or length bound: for tools that show damage.
bool parse_batch_header(const char* p, size_t avail, batch_header* h);

// Walks the records of a checked batch. REQUIRES: the batch passed
// check_batch() and its bytes stay live while the iterator is used.
// Timestamps are Kafka's: base timestamp + delta, or, in a LogAppendTime
// batch, the batch's maxTimestamp (the append time) for every record.
class record_iterator {
 public:
  // Over the records of an uncompressed batch.
  record_iterator(const batch_header& h, const char* batch_start);
  // Over a batch's records section held elsewhere (batch_records).
  record_iterator(const batch_header& h, const char* records, const char* records_end);
  // 1: *out holds the next record; 0: no more; -1: a record is malformed
  // (only possible if the CRC matched damaged bytes) — see error().
  int next(record_view* out);
  // Like next() for up to `max` records, decoding only their offsets and
  // values: the fast path of value-only readers. Bounds are still checked.
  // Returns how many were decoded; it stops before a malformed record,
  // which the next call of next() reports.
  inline size_t next_values(int64_t* offsets, bytes_view* values, size_t max);
  const char* error() const { return error_; }
  // Where the next record's bytes start: the bytes between two calls are one
  // whole encoded record (copied verbatim when compaction keeps it).
  const char* cursor() const { return p_; }

 private:
  const char* p_;
  const char* end_;
  int64_t base_offset_, base_timestamp_;
  int64_t append_time_;  // LogAppendTime: maxTimestamp; else -1
  int32_t remaining_;
  const char* error_ = "";
};

size_t record_iterator::next_values(int64_t* offsets, bytes_view* values, size_t max) {
  // The cursor lives in registers for the whole loop, not in members.
  const char* next = p_;
  const char* const end = end_;
  const int64_t base = base_offset_;
  const size_t n = std::min(max, static_cast<size_t>(remaining_));
  size_t i = 0;
  for (; i < n; i++) {
    int64_t len, off_delta, klen, vlen;
    const char* p = varint::get32(next, end, &len);
    if (!p || len < 1 || len > end - p) break;
    const char* rec_end = p + len;
    p++;                                     // attributes
    while (p < rec_end && (*p & 0x80)) p++;  // timestampDelta, not needed here
    p++;
    if (!(p = varint::get32(p, rec_end, &off_delta))) break;
    if (!(p = varint::get32(p, rec_end, &klen)) || klen < -1 || klen > rec_end - p) break;
    if (klen > 0) p += klen;
    if (!(p = varint::get32(p, rec_end, &vlen)) || vlen < -1 || vlen > rec_end - p) break;
    values[i] = {vlen < 0 ? nullptr : p, static_cast<int32_t>(vlen)};
    offsets[i] = base + off_delta;
    next = rec_end;
  }
  p_ = next;
  remaining_ -= static_cast<int32_t>(i);
  return i;
}

// The records section of a checked batch, decompressed when the batch is
// compressed (codecs: log/compression.h). Keep one per reader: its buffer
// is reused, so decompressing costs an allocation only when a batch is
// larger than any before it.
class batch_records {
 public:
  // REQUIRES: the batch passed check_batch(); an uncompressed one's bytes
  // stay live while its records are read. Corruption, naming the codec, if
  // a compressed one cannot be decompressed.
  Status open(const batch_header& h, const char* batch, size_t max_batch_bytes);
  record_iterator iterator(const batch_header& h) const { return record_iterator(h, begin_, end_); }
  const char* begin() const { return begin_; }
  const char* end() const { return end_; }

 private:
  std::vector<char> buf_;
  const char* begin_ = nullptr;
  const char* end_ = nullptr;
};

// Checks a whole batch someone else encoded before it is stored: what
// check_batch() checks, that it is exactly n bytes, and that its records
// (decompressed if need be) are as many as its header says and all
// well-formed. Corruption says what is wrong; Invalid if it is over
// max_batch_bytes (Kafka's MESSAGE_TOO_LARGE).
Status validate_batch(const char* p, size_t n, size_t max_batch_bytes, batch_records* scratch, batch_header* h);

// The most a batch of at most max_batch_bytes may decompress to (a bound
// on what damaged or hostile bytes can make a reader allocate).
size_t decompressed_batch_limit(size_t max_batch_bytes);

// Compresses the records section of the finished batch [batch, batch +
// size) in place with codec c, rewriting its attributes, length and CRC;
// returns the new size. A batch that would not shrink stays as it is.
Result<size_t> compress_batch(char* batch, size_t size, codec c, std::vector<char>* scratch);

// Stamps the whole, checked batch [batch, batch + size) with the append
// time `now` (ms), as a Kafka broker does for a LogAppendTime topic: sets
// attribute bit 3, maxTimestamp = now, and the CRC to match. The records
// (compressed or not) are left as they are.
void stamp_log_append_time(char* batch, size_t size, int64_t now);

// Encodes one batch in place into a caller-provided buffer.
//   builder.start(buf, cap, base_offset);
//   while (builder.append(ts, key, value)) ...;   // false: would not fit
//   size_t n = builder.finish();                  // header + CRC written
class batch_builder {
 public:
  void start(char* dst, size_t capacity, int64_t base_offset);
  // Adds a record if it fits; false (and nothing written) if not. A record
  // that does not fit even in an empty batch never will: callers compare
  // encoded_size() against their limit first.
  bool append(int64_t timestamp, bytes_view key, bytes_view value, std::span<const record_header> headers = {});
  // Bytes the record takes inside a batch whose first timestamp is
  // base_ts and with offset delta `delta` (an upper bound is fine for checks).
  static size_t encoded_size(int64_t ts_delta, int32_t offset_delta, bytes_view key, bytes_view value,
                             std::span<const record_header> headers = {});
  // Writes the header and CRC; returns the batch's size. With
  // log_append_time >= 0 the batch is a LogAppendTime one stamped with it
  // (see stamp_log_append_time), else CreateTime.
  size_t finish(int64_t log_append_time = -1);

  bool empty() const { return count_ == 0; }
  int32_t count() const { return count_; }
  size_t size() const { return static_cast<size_t>(p_ - dst_); }
  int64_t base_offset() const { return base_offset_; }
  int64_t last_offset() const { return base_offset_ + count_ - 1; }
  int64_t max_timestamp() const { return max_ts_; }
  int64_t base_timestamp() const { return base_ts_; }

 private:
  char* dst_ = nullptr;
  char* p_ = nullptr;
  char* end_ = nullptr;
  int64_t base_offset_ = 0, base_ts_ = 0, max_ts_ = 0;
  int32_t count_ = 0;
};

}  // namespace kappa
