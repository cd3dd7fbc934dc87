// Batches a Kafka client encoded, stored as they came (partition_appender::
// append_batch) and served as they are stored (partition_reader::next_batch):
// the way kappa serve's Produce and Fetch use the log.
#include <doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "kappa/log.h"
#include "log/record_batch.h"
#include "util/big_endian.h"
#include "util/crc32c.h"
#include "temp_dir.h"

using namespace kappa;

namespace {

// A batch as a client builds it: base offset 0, `n` records, maybe compressed.
std::string client_batch(int first, int n, codec c = codec::none) {
  std::vector<char> buf(1 << 20), scratch;
  batch_builder b;
  b.start(buf.data(), buf.size(), 0);
  for (int i = first; i < first + n; i++) {
    std::string v = "value-" + std::to_string(i);
    REQUIRE(b.append(5000 + i, bytes_view::null(), bytes_view::of(v)));
  }
  size_t size = b.finish();
  auto z = compress_batch(buf.data(), size, c, &scratch);
  REQUIRE(z.ok());
  return std::string(buf.data(), z.value());
}

void fix_crc(std::string& b) {
  be::store32(b.data() + format::kCrcOffset,
              crc32c(b.data() + format::kCrcCoveredStart, b.size() - format::kCrcCoveredStart));
}

}  // namespace

TEST_CASE("client batches get the next offsets, keep their bytes, and read back record by record and whole") {
  temp_dir d("kappa-appendbatch");
  partition_options o;
  std::vector<std::string> sent = {client_batch(0, 10), client_batch(10, 5, codec::zstd),
                                   client_batch(15, 7, codec::gzip)};
  {
    auto w = partition_appender::open(d.root + "/p", "test partition", o);
    REQUIRE(w.ok());
    int64_t base = -1;
    REQUIRE(w.value()->append_batch(sent[0], &base).ok());
    CHECK(base == 0);
    REQUIRE(w.value()->append(1, bytes_view::null(), bytes_view::of("from-the-cli")).ok());
    REQUIRE(w.value()->append_batch(sent[1], &base).ok());
    CHECK(base == 11);
    REQUIRE(w.value()->append_batch(sent[2], &base).ok());
    CHECK(base == 16);
    REQUIRE(w.value()->sync().ok());
  }
  auto r = partition_reader::open(d.root + "/p", "test partition", o);
  REQUIRE(r.ok());
  record_view rec;
  std::vector<std::string> values;
  int64_t expect = 0;
  while (r.value()->next(&rec).value() == partition_reader::status::record) {
    CHECK(rec.offset == expect++);
    values.emplace_back(rec.value.view());
  }
  REQUIRE(values.size() == 23);
  CHECK(values[10] == "from-the-cli");
  CHECK(values[11] == "value-10");
  CHECK(values[22] == "value-21");
  // Whole batches: the stored bytes are the client's but for the base offset.
  REQUIRE(r.value()->seek(13).ok());
  std::string_view b;
  REQUIRE(r.value()->next_batch(&b).value() == partition_reader::status::record);
  CHECK(be::load64(b.data()) == 11);  // the batch holding offset 13
  CHECK(b.substr(12) == std::string_view(sent[1]).substr(12));
  REQUIRE(r.value()->next_batch(&b).value() == partition_reader::status::record);
  CHECK(be::load64(b.data()) == 16);
  CHECK(r.value()->next_batch(&b).value() == partition_reader::status::end);
}

TEST_CASE("a bad client batch is refused with the reason and nothing is appended") {
  temp_dir d("kappa-appendbatch");
  partition_options o;
  o.max_message_bytes = 4096;
  auto w = partition_appender::open(d.root + "/p", "test partition", o);
  REQUIRE(w.ok());
  int64_t base = -1;
  std::string good = client_batch(0, 3);

  std::string crc = good;
  crc[crc.size() - 1] ^= 1;
  Status st = w.value()->append_batch(crc, &base);
  CHECK(st.is_corruption());
  CHECK(st.message().find("CRC") != std::string::npos);

  std::string count = good;  // says 4 records, holds 3
  be::store32(count.data() + format::kRecordCountOffset, 4);
  be::store32(count.data() + format::kLastOffsetDeltaOffset, 3);
  fix_crc(count);
  st = w.value()->append_batch(count, &base);
  CHECK(st.is_corruption());
  INFO(st.message());
  CHECK(st.message().find("3 records, its header says 4") != std::string::npos);

  st = w.value()->append_batch(good.substr(0, good.size() - 1), &base);
  CHECK(st.is_corruption());
  st = w.value()->append_batch(good + "x", &base);
  CHECK(st.is_corruption());

  std::string big = client_batch(0, 400);
  st = w.value()->append_batch(big, &base);
  CHECK(st.is_invalid());
  CHECK(st.message().find("max.message.bytes") != std::string::npos);

  // The appender is still usable, and nothing of the above was stored.
  REQUIRE(w.value()->append_batch(good, &base).ok());
  CHECK(base == 0);
  CHECK(w.value()->next_offset() == 3);
}

// kappa serve is a brief writer: between its rounds another process's
// appender may write the partition, and the server's next round goes on
// from the end that writer left, not from its own stale one.
TEST_CASE("a brief writer gives the lock back between rounds and continues after another writer") {
  temp_dir d("kappa-appendbatch");
  partition_options brief;
  brief.brief_writer = true;
  partition_options plain;
  const std::string p = d.root + "/p";
  auto server = partition_appender::open(p, "test partition", brief);
  REQUIRE(server.ok());
  int64_t base = -1;
  REQUIRE(server.value()->append_batch(client_batch(0, 4), &base).ok());
  CHECK(base == 0);
  REQUIRE(server.value()->sync().ok());
  REQUIRE(server.value()->release_lock().ok());
  CHECK_FALSE(server.value()->holds_lock());
  {
    auto cli = partition_appender::open(p, "test partition", plain);
    REQUIRE(cli.ok());
    for (int i = 0; i < 3; i++) REQUIRE(cli.value()->append(1, bytes_view::null(), bytes_view::of("cli")).ok());
    REQUIRE(cli.value()->sync().ok());
    // Now the brief writer is the one refused, at once, and nothing is appended.
    Status st = server.value()->append_batch(client_batch(4, 2), &base);
    CHECK(st.is_busy());
  }
  REQUIRE(server.value()->append_batch(client_batch(4, 2), &base).ok());
  CHECK(base == 7);  // after the CLI's 3 records
  REQUIRE(server.value()->sync().ok());
  REQUIRE(server.value()->release_lock().ok());
  // Unchanged partition: the next round continues without a recovery.
  REQUIRE(server.value()->append_batch(client_batch(6, 1), &base).ok());
  CHECK(base == 9);
  REQUIRE(server.value()->sync().ok());
  server.value().reset();

  auto r = partition_reader::open(p, "test partition", plain);
  REQUIRE(r.ok());
  record_view rec;
  int64_t expect = 0;
  for (;;) {
    auto st = r.value()->next(&rec);
    REQUIRE(st.ok());
    if (st.value() != partition_reader::status::record) break;
    CHECK(rec.offset == expect++);
  }
  CHECK(expect == 10);
}

TEST_CASE("a writer waits for a brief writer's round instead of failing") {
  temp_dir d("kappa-appendbatch");
  partition_options brief;
  brief.brief_writer = true;
  const std::string p = d.root + "/p";
  auto server = partition_appender::open(p, "test partition", brief);
  REQUIRE(server.ok());
  int64_t base = -1;
  REQUIRE(server.value()->append_batch(client_batch(0, 1), &base).ok());
  std::thread round([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    (void)server.value()->sync();
    (void)server.value()->release_lock();
  });
  auto t0 = std::chrono::steady_clock::now();
  auto cli = partition_appender::open(p, "test partition", partition_options{});
  auto waited = std::chrono::steady_clock::now() - t0;
  round.join();
  REQUIRE(cli.ok());
  CHECK(waited >= std::chrono::milliseconds(150));
  REQUIRE(cli.value()->open_now().ok());
  CHECK(cli.value()->next_offset() == 1);
}
