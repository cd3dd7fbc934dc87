// message.timestamp.type=LogAppendTime, as Kafka stores it: attribute bit 3
// set, maxTimestamp = the append time, the records' deltas untouched, and
// every reader reporting maxTimestamp as each record's timestamp
// (include/kappa/log/format.h). The codec, both appender paths, the reader's
// time lookups and compaction.
#include <doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "io/io_backend.h"
#include "kappa/log.h"
#include "kappa/topic_config.h"
#include "log/partition_lock.h"
#include "log/record_batch.h"
#include "log/recovery.h"
#include "log/segment.h"
#include "retention/cleaner.h"
#include "util/big_endian.h"
#include "util/clock.h"
#include "util/crc32c.h"
#include "temp_dir.h"

using namespace kappa;

namespace {

constexpr int64_t kYear2001 = 978307200000;  // what writers put in the records
constexpr int64_t kAppendTime = 1700000000123;

// A CreateTime batch of n records at 2001 timestamps (increasing by 1000),
// or, with append_time >= 0, the same records in a LogAppendTime batch.
std::string build(int n, int64_t append_time = -1, codec c = codec::none) {
  std::vector<char> buf(1 << 16), scratch;
  batch_builder b;
  b.start(buf.data(), buf.size(), 0);
  for (int i = 0; i < n; i++) {
    std::string k = "k" + std::to_string(i % 3), v = "value-" + std::to_string(i);
    REQUIRE(b.append(kYear2001 + 1000 * i, bytes_view::of(k), bytes_view::of(v)));
  }
  size_t size = b.finish(append_time);
  auto z = compress_batch(buf.data(), size, c, &scratch);
  REQUIRE(z.ok());
  return std::string(buf.data(), z.value());
}

bool crc_valid(std::string_view b) {
  return be::load32(b.data() + format::kCrcOffset) ==
         crc32c(b.data() + format::kCrcCoveredStart, b.size() - format::kCrcCoveredStart);
}

// The timestamps a reader decodes from the batch.
std::vector<int64_t> timestamps(const std::string& b) {
  batch_header h;
  std::string why;
  REQUIRE_MESSAGE(check_batch(b.data(), b.size(), 1 << 20, &h, &why) == batch_state::ok, why);
  batch_records recs;
  REQUIRE(recs.open(h, b.data(), 1 << 20).ok());
  record_iterator it = recs.iterator(h);
  record_view r;
  std::vector<int64_t> out;
  while (it.next(&r) == 1) out.push_back(r.timestamp);
  return out;
}

struct read_rec {
  int64_t offset, timestamp;
  std::string value;
};

std::vector<read_rec> read_all(const std::string& path, const partition_options& o) {
  auto r = partition_reader::open(path, "test partition", o);
  REQUIRE(r.ok());
  std::vector<read_rec> out;
  record_view rec;
  while (r.value()->next(&rec).value() == partition_reader::status::record)
    out.push_back({rec.offset, rec.timestamp, std::string(rec.value.view())});
  return out;
}

// Every stored batch, as it is stored (CRC checked by the reader).
std::vector<batch_header> stored_batches(const std::string& path, const partition_options& o) {
  auto r = partition_reader::open(path, "test partition", o);
  REQUIRE(r.ok());
  std::vector<batch_header> out;
  std::string_view b;
  while (r.value()->next_batch(&b).value() == partition_reader::status::record) {
    CHECK(crc_valid(b));
    batch_header h;
    REQUIRE(parse_batch_header(b.data(), b.size(), &h));
    out.push_back(h);
  }
  return out;
}

}  // namespace

TEST_CASE("a LogAppendTime batch: bit 3 set, maxTimestamp the append time, every record reads it") {
  for (codec c : {codec::none, codec::gzip, codec::zstd}) {
    INFO("codec " << static_cast<int>(c));
    std::string b = build(50, kAppendTime, c);
    batch_header h;
    REQUIRE(parse_batch_header(b.data(), b.size(), &h));
    CHECK((h.attributes & format::kTimestampTypeLogAppend) != 0);
    CHECK(h.log_append_time());
    CHECK((h.attributes & format::kCompressionMask) == static_cast<int>(c));
    CHECK(h.max_timestamp == kAppendTime);
    CHECK(h.base_timestamp == kYear2001);  // the writer's times stay in the batch
    CHECK(crc_valid(b));
    CHECK(timestamps(b) == std::vector<int64_t>(50, kAppendTime));
  }
  // The same records as CreateTime keep their own times.
  auto create = timestamps(build(3));
  CHECK(create == std::vector<int64_t>{kYear2001, kYear2001 + 1000, kYear2001 + 2000});
}

TEST_CASE("stamping a client's batch sets the bit, the time and a valid CRC, and leaves its records as sent") {
  for (codec c : {codec::none, codec::lz4}) {
    std::string sent = build(20, -1, c);
    std::string b = sent;
    stamp_log_append_time(b.data(), b.size(), kAppendTime);
    CHECK(crc_valid(b));
    batch_header h;
    REQUIRE(parse_batch_header(b.data(), b.size(), &h));
    CHECK(h.log_append_time());
    CHECK((h.attributes & format::kCompressionMask) == static_cast<int>(c));
    CHECK(h.max_timestamp == kAppendTime);
    CHECK(b.substr(format::kBatchHeaderSize) == sent.substr(format::kBatchHeaderSize));
    CHECK(timestamps(b) == std::vector<int64_t>(20, kAppendTime));
    // A damaged stamped batch is still caught by its CRC.
    b[format::kMaxTimestampOffset + 7] ^= 1;
    CHECK(!crc_valid(b));
  }
}

TEST_CASE("a LogAppendTime appender stamps its own and clients' batches with the wall clock") {
  for (codec c : {codec::none, codec::zstd}) {
    INFO("codec " << static_cast<int>(c));
    temp_dir d("kappa-appendtime");
    std::string path = d.root + "/p";
    partition_options o;
    o.log_append_time = true;
    o.compression = c;
    int64_t before = wall_clock_ms(), client_time = -2;
    {
      auto w = partition_appender::open(path, "test partition", o);
      REQUIRE(w.ok());
      for (int i = 0; i < 100; i++) {
        std::string v = "value-" + std::to_string(i) + std::string(40, 'x');
        REQUIRE(w.value()->append(kYear2001 + i, bytes_view::null(), bytes_view::of(v)).ok());
      }
      int64_t base = -1;
      REQUIRE(w.value()->append_batch(build(5, -1, c), &base, &client_time).ok());
      CHECK(base == 100);
      REQUIRE(w.value()->sync().ok());
    }
    int64_t after = wall_clock_ms();
    CHECK(client_time >= before);
    CHECK(client_time <= after);
    auto recs = read_all(path, o);
    REQUIRE(recs.size() == 105);
    for (const auto& r : recs) {
      CHECK(r.timestamp >= before);
      CHECK(r.timestamp <= after);
    }
    CHECK(recs[104].timestamp == client_time);
    auto batches = stored_batches(path, o);
    REQUIRE(batches.size() >= 2);
    for (const auto& h : batches) CHECK(h.log_append_time());
    // Its own batch was compressed after it was stamped, and kept the bit.
    CHECK((batches.front().attributes & format::kCompressionMask) == static_cast<int>(c));

    // The time lookups see the append time, not the writers' 2001.
    auto r = partition_reader::open(path, "test partition", o);
    REQUIRE(r.ok());
    auto newest = r.value()->newest_timestamp();
    REQUIRE(newest.ok());
    CHECK(newest.value() >= before);
    CHECK(newest.value() <= after);
    REQUIRE(r.value()->seek_to_timestamp(kYear2001 + 50).ok());
    record_view rec;
    REQUIRE(r.value()->next(&rec).value() == partition_reader::status::record);
    CHECK(rec.offset == 0);
    REQUIRE(r.value()->seek_to_timestamp(after + 1).ok());
    CHECK(r.value()->next(&rec).value() == partition_reader::status::end);
  }
}

TEST_CASE("a CreateTime appender keeps the writers' timestamps, and follows a switch to LogAppendTime") {
  temp_dir d("kappa-appendtime");
  std::string path = d.root + "/p";
  partition_options o;
  auto w = partition_appender::open(path, "test partition", o);
  REQUIRE(w.ok());
  int64_t base = -1, t = 0;
  REQUIRE(w.value()->append_batch(build(2), &base, &t).ok());
  CHECK(t == -1);
  REQUIRE(w.value()->append(kYear2001 + 5, bytes_view::null(), bytes_view::of("own")).ok());
  REQUIRE(w.value()->flush().ok());
  w.value()->set_log_append_time(true);  // a `topic alter` seen by kappa serve
  int64_t before = wall_clock_ms();
  REQUIRE(w.value()->append_batch(build(1), &base, &t).ok());
  CHECK(t >= before);
  REQUIRE(w.value()->append(kYear2001 + 6, bytes_view::null(), bytes_view::of("own, stamped")).ok());
  REQUIRE(w.value()->sync().ok());
  auto recs = read_all(path, o);
  REQUIRE(recs.size() == 5);
  CHECK(recs[0].timestamp == kYear2001);
  CHECK(recs[1].timestamp == kYear2001 + 1000);
  CHECK(recs[2].timestamp == kYear2001 + 5);
  CHECK(recs[3].timestamp == t);
  CHECK(recs[4].timestamp >= before);
}

TEST_CASE("compaction keeps a LogAppendTime batch's bit and append time") {
  temp_dir d("kappa-appendtime");
  std::string path = d.root + "/p";
  partition_options o;
  o.log_append_time = true;
  o.segment_bytes = 4096;
  o.cleanup_compact = true;
  o.cleanup_delete = false;
  o.min_cleanable_dirty_ratio = 0;
  {
    auto w = partition_appender::open(path, "test partition", o);
    REQUIRE(w.ok());
    for (int i = 0; i < 400; i++) {
      std::string k = "key-" + std::to_string(i % 7), v = "value-" + std::to_string(i) + std::string(20, 'v');
      REQUIRE(w.value()->append(kYear2001 + i, bytes_view::of(k), bytes_view::of(v)).ok());
    }
    REQUIRE(w.value()->sync().ok());
  }
  // Each batch's append time, by the offsets it holds, before compaction.
  std::vector<batch_header> before = stored_batches(path, o);
  REQUIRE(before.size() >= 4);
  auto time_of = [&](int64_t offset) {
    for (const auto& h : before)
      if (offset >= h.base_offset && offset <= h.last_offset()) return h.max_timestamp;
    return int64_t{-1};
  };
  {
    auto lock = partition_lock::acquire_cleaner(path);
    REQUIRE(lock.ok());
    auto io = make_posix_backend();
    recovery_report rep;
    REQUIRE(recover_sealed(*io, path, "test partition", readable_batch_limit(o.max_message_bytes), &rep).ok());
    auto r = compact_partition(*io, path, "test partition", o, wall_clock_ms() + 1000);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    REQUIRE(r.value().records_removed > 0);
  }
  auto recs = read_all(path, o);
  REQUIRE(recs.size() < 400);
  for (const auto& r : recs) CHECK(r.timestamp == time_of(r.offset));
  for (const auto& h : stored_batches(path, o)) {
    CHECK(h.log_append_time());
    CHECK(h.max_timestamp == time_of(h.base_offset));
  }
}

TEST_CASE("message.timestamp.type: CreateTime by default, LogAppendTime on request, nothing else") {
  topic_config c;
  CHECK(c.get("message.timestamp.type") == "CreateTime");
  CHECK(c.effective().count("message.timestamp.type") == 1);
  CHECK(!c.log_append_time());
  CHECK(!c.partition().log_append_time);
  c.set("message.timestamp.type", "LogAppendTime");
  CHECK(c.log_append_time());
  CHECK(c.partition().log_append_time);
  CHECK(validate_topic_config("message.timestamp.type", "CreateTime").ok());
  CHECK(validate_topic_config("message.timestamp.type", "LogAppendTime").ok());
  for (const char* bad : {"logappendtime", "", "AppendTime"}) {
    auto st = validate_topic_config("message.timestamp.type", bad);
    CHECK(st.is_invalid());
    CHECK(st.message().find("message.timestamp.type") != std::string::npos);
    CHECK(st.message().find("CreateTime or LogAppendTime") != std::string::npos);
  }
}
