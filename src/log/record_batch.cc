#include "log/record_batch.h"

#include <cstring>

#include "log/compression.h"
#include "util/big_endian.h"
#include "util/crc32c.h"
#include "util/varint.h"

namespace kappa {

using namespace format;

size_t batch_total_size(const char* p) {
  return static_cast<size_t>(be::load32(p + kBatchLengthOffset)) + kLogOverhead;
}

bool parse_batch_header(const char* p, size_t avail, batch_header* h) {
  if (avail < kBatchHeaderSize) return false;
  h->base_offset = static_cast<int64_t>(be::load64(p + kBaseOffsetOffset));
  h->batch_length = static_cast<int32_t>(be::load32(p + kBatchLengthOffset));
  h->leader_epoch = static_cast<int32_t>(be::load32(p + kLeaderEpochOffset));
  h->magic = static_cast<int8_t>(p[kMagicOffset]);
  h->crc = be::load32(p + kCrcOffset);
  h->attributes = static_cast<int16_t>(be::load16(p + kAttributesOffset));
  h->last_offset_delta = static_cast<int32_t>(be::load32(p + kLastOffsetDeltaOffset));
  h->base_timestamp = static_cast<int64_t>(be::load64(p + kBaseTimestampOffset));
  h->max_timestamp = static_cast<int64_t>(be::load64(p + kMaxTimestampOffset));
  h->producer_id = static_cast<int64_t>(be::load64(p + kProducerIdOffset));
  h->producer_epoch = static_cast<int16_t>(be::load16(p + kProducerEpochOffset));
  h->base_sequence = static_cast<int32_t>(be::load32(p + kBaseSequenceOffset));
  h->record_count = static_cast<int32_t>(be::load32(p + kRecordCountOffset));
  return true;
}

batch_state check_batch(const char* p, size_t avail, size_t max_batch_bytes, batch_header* h, std::string* why,
                        bool crc_checked) {
  if (avail < kLogOverhead) return batch_state::incomplete;
  int64_t length = static_cast<int32_t>(be::load32(p + kBatchLengthOffset));
  if (length < static_cast<int64_t>(kBatchHeaderSize - kLogOverhead)) {
    *why = "batch length " + std::to_string(length) + " is smaller than a batch header";
    return batch_state::corrupt;
  }
  if (static_cast<uint64_t>(length) + kLogOverhead > max_batch_bytes) {
    *why = "batch length " + std::to_string(length) + " exceeds the largest batch allowed (" +
           std::to_string(max_batch_bytes) + " bytes)";
    return batch_state::corrupt;
  }
  if (avail < static_cast<size_t>(length) + kLogOverhead) return batch_state::incomplete;
  parse_batch_header(p, avail, h);
  if (h->magic != kMagicV2) {
    *why = "magic byte is " + std::to_string(h->magic) + ", expected 2";
    return batch_state::corrupt;
  }
  uint32_t crc = crc_checked ? h->crc : crc32c(p + kCrcCoveredStart, h->total_size() - kCrcCoveredStart);
  if (crc != h->crc) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "CRC-32C mismatch (stored %08x, computed %08x)", h->crc, crc);
    *why = buf;
    return batch_state::corrupt;
  }
  if (h->base_offset < 0 || h->record_count < 0 || h->last_offset_delta < 0 ||
      h->record_count > h->last_offset_delta + 1) {
    *why = "inconsistent header (base offset " + std::to_string(h->base_offset) + ", " +
           std::to_string(h->record_count) + " records, last offset delta " + std::to_string(h->last_offset_delta) +
           ")";
    return batch_state::corrupt;
  }
  if ((h->attributes & kCompressionMask) > static_cast<int>(codec::zstd)) {
    *why = "unknown compression codec " + std::to_string(h->attributes & kCompressionMask);
    return batch_state::corrupt;
  }
  return batch_state::ok;
}

record_iterator::record_iterator(const batch_header& h, const char* batch_start)
    : record_iterator(h, batch_start + kBatchHeaderSize, batch_start + h.total_size()) {}

record_iterator::record_iterator(const batch_header& h, const char* records, const char* records_end)
    : p_(records),
      end_(records_end),
      base_offset_(h.base_offset),
      base_timestamp_(h.base_timestamp),
      append_time_(h.log_append_time() ? h.max_timestamp : -1),
      remaining_(h.record_count) {}

int record_iterator::next(record_view* out) {
  if (remaining_ == 0) return 0;
  int64_t len, ts_delta, off_delta, klen, vlen, hcount;
  const char* p = varint::get32(p_, end_, &len);
  if (!p || len < 1 || len > end_ - p) return error_ = "record length out of range", -1;
  const char* rec_end = p + len;
  p++;  // attributes
  if (!(p = varint::get64(p, rec_end, &ts_delta))) return error_ = "bad timestamp delta", -1;
  if (!(p = varint::get32(p, rec_end, &off_delta))) return error_ = "bad offset delta", -1;
  if (!(p = varint::get32(p, rec_end, &klen)) || klen < -1 || klen > rec_end - p) return error_ = "bad key length", -1;
  out->key = {klen < 0 ? nullptr : p, static_cast<int32_t>(klen)};
  if (klen > 0) p += klen;
  if (!(p = varint::get32(p, rec_end, &vlen)) || vlen < -1 || vlen > rec_end - p)
    return error_ = "bad value length", -1;
  out->value = {vlen < 0 ? nullptr : p, static_cast<int32_t>(vlen)};
  if (vlen > 0) p += vlen;
  if (!(p = varint::get32(p, rec_end, &hcount)) || hcount < 0) return error_ = "bad header count", -1;
  out->header_count = static_cast<int32_t>(hcount);
  out->headers = p;
  out->headers_end = rec_end;
  out->offset = base_offset_ + off_delta;
  out->timestamp = append_time_ >= 0 ? append_time_ : base_timestamp_ + ts_delta;
  p_ = rec_end;
  remaining_--;
  return 1;
}

bool record_header_at(const record_view& r, int32_t i, record_header* out) {
  if (i < 0 || i >= r.header_count) return false;
  const char* p = r.headers;
  const char* end = r.headers_end;
  for (int32_t k = 0; k <= i; k++) {
    int64_t klen, vlen;
    if (!(p = varint::get32(p, end, &klen)) || klen < 0 || klen > end - p) return false;
    const char* key = p;
    p += klen;
    if (!(p = varint::get32(p, end, &vlen)) || vlen < -1 || vlen > end - p) return false;
    if (k == i) {
      out->key = std::string_view(key, static_cast<size_t>(klen));
      out->value = {vlen < 0 ? nullptr : p, static_cast<int32_t>(vlen)};
      return true;
    }
    if (vlen > 0) p += vlen;
  }
  return false;
}

void batch_builder::start(char* dst, size_t capacity, int64_t base_offset) {
  dst_ = dst;
  p_ = dst + kBatchHeaderSize;
  end_ = dst + capacity;
  base_offset_ = base_offset;
  count_ = 0;
}

static size_t body_size(int64_t ts_delta, int32_t offset_delta, bytes_view key, bytes_view value,
                        std::span<const record_header> headers) {
  size_t n = 1 + varint::size(ts_delta) + varint::size(offset_delta);
  n += varint::size(key.size) + (key.is_null() ? 0 : static_cast<size_t>(key.size));
  n += varint::size(value.size) + (value.is_null() ? 0 : static_cast<size_t>(value.size));
  n += varint::size(static_cast<int64_t>(headers.size()));
  for (const auto& h : headers) {
    n += varint::size(static_cast<int64_t>(h.key.size())) + h.key.size();
    n += varint::size(h.value.size) + (h.value.is_null() ? 0 : static_cast<size_t>(h.value.size));
  }
  return n;
}

size_t batch_builder::encoded_size(int64_t ts_delta, int32_t offset_delta, bytes_view key, bytes_view value,
                                   std::span<const record_header> headers) {
  size_t body = body_size(ts_delta, offset_delta, key, value, headers);
  return varint::size(static_cast<int64_t>(body)) + body;
}

static char* put_bytes(char* p, bytes_view b) {
  p = varint::put(p, b.size);
  if (b.size > 0) {
    std::memcpy(p, b.data, static_cast<size_t>(b.size));
    p += b.size;
  }
  return p;
}

bool batch_builder::append(int64_t timestamp, bytes_view key, bytes_view value,
                           std::span<const record_header> headers) {
  int64_t base_ts = count_ == 0 ? timestamp : base_ts_;
  int64_t ts_delta = timestamp - base_ts;
  size_t body = body_size(ts_delta, count_, key, value, headers);
  size_t total = varint::size(static_cast<int64_t>(body)) + body;
  if (total > static_cast<size_t>(end_ - p_)) return false;
  char* p = varint::put(p_, static_cast<int64_t>(body));
  *p++ = 0;  // record attributes: unused in v2
  p = varint::put(p, ts_delta);
  p = varint::put(p, count_);
  p = put_bytes(p, key);
  p = put_bytes(p, value);
  p = varint::put(p, static_cast<int64_t>(headers.size()));
  for (const auto& h : headers) {
    p = put_bytes(p, bytes_view::of(h.key));
    p = put_bytes(p, h.value);
  }
  p_ = p;
  if (count_ == 0) {
    base_ts_ = timestamp;
    max_ts_ = timestamp;
  } else if (timestamp > max_ts_) {
    max_ts_ = timestamp;
  }
  count_++;
  return true;
}

size_t batch_builder::finish(int64_t log_append_time) {
  size_t total = size();
  char* h = dst_;
  bool append_time = log_append_time >= 0;
  be::store64(h + kBaseOffsetOffset, static_cast<uint64_t>(base_offset_));
  be::store32(h + kBatchLengthOffset, static_cast<uint32_t>(total - kLogOverhead));
  be::store32(h + kLeaderEpochOffset, static_cast<uint32_t>(kLeaderEpoch));
  h[kMagicOffset] = static_cast<char>(kMagicV2);
  be::store16(h + kAttributesOffset, append_time ? kTimestampTypeLogAppend : 0);
  be::store32(h + kLastOffsetDeltaOffset, static_cast<uint32_t>(count_ - 1));
  be::store64(h + kBaseTimestampOffset, static_cast<uint64_t>(base_ts_));
  be::store64(h + kMaxTimestampOffset, static_cast<uint64_t>(append_time ? log_append_time : max_ts_));
  be::store64(h + kProducerIdOffset, static_cast<uint64_t>(kNoProducerId));
  be::store16(h + kProducerEpochOffset, static_cast<uint16_t>(kNoProducerEpoch));
  be::store32(h + kBaseSequenceOffset, static_cast<uint32_t>(kNoSequence));
  be::store32(h + kRecordCountOffset, static_cast<uint32_t>(count_));
  be::store32(h + kCrcOffset, crc32c(h + kCrcCoveredStart, total - kCrcCoveredStart));
  return total;
}

void stamp_log_append_time(char* batch, size_t size, int64_t now) {
  be::store16(batch + kAttributesOffset,
              static_cast<uint16_t>(be::load16(batch + kAttributesOffset) | kTimestampTypeLogAppend));
  be::store64(batch + kMaxTimestampOffset, static_cast<uint64_t>(now));
  be::store32(batch + kCrcOffset, crc32c(batch + kCrcCoveredStart, size - kCrcCoveredStart));
}

size_t decompressed_batch_limit(size_t max_batch_bytes) { return std::max<size_t>(64u << 20, 32 * max_batch_bytes); }

Status batch_records::open(const batch_header& h, const char* batch, size_t max_batch_bytes) {
  int bits = h.attributes & kCompressionMask;
  const char* records = batch + kBatchHeaderSize;
  size_t n = h.total_size() - kBatchHeaderSize;
  if (bits == 0) {
    begin_ = records;
    end_ = records + n;
    return Status::OK();
  }
  size_t size = 0;
  Status st = decompress(static_cast<codec>(bits), records, n, decompressed_batch_limit(max_batch_bytes), &buf_, &size);
  if (!st.ok()) return st;
  begin_ = buf_.data();
  end_ = buf_.data() + size;
  return Status::OK();
}

Status validate_batch(const char* p, size_t n, size_t max_batch_bytes, batch_records* scratch, batch_header* h) {
  if (n >= kLogOverhead && batch_total_size(p) > max_batch_bytes && batch_total_size(p) <= n)
    return Status::Invalid("a batch of " + std::to_string(batch_total_size(p)) + " bytes is over max.message.bytes (" +
                           std::to_string(max_batch_bytes) + ")");
  std::string why;
  batch_state st = check_batch(p, n, std::max(max_batch_bytes, n), h, &why);
  if (st == batch_state::incomplete || (st == batch_state::ok && h->total_size() != n))
    return Status::Corruption("the record set is " + std::to_string(n) + " bytes, not one whole batch");
  if (st == batch_state::corrupt) return Status::Corruption(why);
  if (h->total_size() > max_batch_bytes)
    return Status::Invalid("a batch of " + std::to_string(h->total_size()) + " bytes is over max.message.bytes (" +
                           std::to_string(max_batch_bytes) + ")");
  KAPPA_RETURN_IF_ERROR(scratch->open(*h, p, max_batch_bytes));
  // Count the records the bytes hold, whatever the header says.
  batch_header uncounted = *h;
  uncounted.record_count = INT32_MAX;
  record_iterator it = scratch->iterator(uncounted);
  record_view r;
  int32_t count = 0;
  while (it.cursor() < scratch->end()) {
    if (it.next(&r) != 1) return Status::Corruption(std::string("malformed record: ") + it.error());
    if (r.offset > h->last_offset()) return Status::Corruption("a record's offset delta is past the batch's last");
    count++;
  }
  if (count != h->record_count)
    return Status::Corruption("the batch holds " + std::to_string(count) + " records, its header says " +
                              std::to_string(h->record_count));
  return Status::OK();
}

Result<size_t> compress_batch(char* batch, size_t size, codec c, std::vector<char>* scratch) {
  if (c == codec::none || size <= kBatchHeaderSize) return size;
  scratch->clear();
  KAPPA_RETURN_IF_ERROR(compress(c, batch + kBatchHeaderSize, size - kBatchHeaderSize, scratch));
  // Kept uncompressed when compression would not make it smaller (random
  // bytes): still a valid batch, and never larger than its limit.
  if (scratch->size() >= size - kBatchHeaderSize) return size;
  std::memcpy(batch + kBatchHeaderSize, scratch->data(), scratch->size());
  size_t total = kBatchHeaderSize + scratch->size();
  uint16_t attributes =
      static_cast<uint16_t>((be::load16(batch + kAttributesOffset) & ~kCompressionMask) | static_cast<uint16_t>(c));
  be::store16(batch + kAttributesOffset, attributes);
  be::store32(batch + kBatchLengthOffset, static_cast<uint32_t>(total - kLogOverhead));
  be::store32(batch + kCrcOffset, crc32c(batch + kCrcCoveredStart, total - kCrcCoveredStart));
  return total;
}

}  // namespace kappa
