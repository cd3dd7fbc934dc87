// Compressed record batches: each of Kafka's codecs round-trips, the forms
// other clients write are read, and damaged or oversized streams are
// refused with a reason instead of crashing or allocating without bound.
#include <doctest.h>
#include <snappy.h>

#include <string>
#include <vector>

#include "log/compression.h"
#include "log/record_batch.h"
#include "util/big_endian.h"
#include "util/crc32c.h"

using namespace kappa;

namespace {

const codec kCodecs[] = {codec::gzip, codec::snappy, codec::lz4, codec::zstd};

std::string sample(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; i++)
    s += "{\"user_id\":\"u" + std::to_string(i % 977) + "\",\"event_type\":\"view\",\"n\":" + std::to_string(i) + "}\n";
  s.resize(n);
  return s;
}

std::string roundtrip(codec c, const std::string& in) {
  std::vector<char> z, out;
  REQUIRE(compress(c, in.data(), in.size(), &z).ok());
  size_t size = 0;
  Status st = decompress(c, z.data(), z.size(), 1u << 30, &out, &size);
  REQUIRE_MESSAGE(st.ok(), st.message());
  REQUIRE(out.size() >= size + kDecompressPadding);
  for (size_t i = 0; i < kDecompressPadding; i++) CHECK(out[size + i] == 0);
  return std::string(out.data(), size);
}

// A batch of `n` records built as the appender builds them.
std::vector<char> make_batch(int n, const std::string& prefix = "value-") {
  std::vector<char> buf(1 << 20);
  batch_builder b;
  b.start(buf.data(), buf.size(), 100);
  for (int i = 0; i < n; i++) {
    std::string k = "k" + std::to_string(i), v = prefix + std::to_string(i) + std::string(40, 'x');
    REQUIRE(b.append(1000 + i, bytes_view::of(k), bytes_view::of(v)));
  }
  buf.resize(b.finish());
  return buf;
}

std::vector<std::string> values_of(const std::vector<char>& batch) {
  batch_header h;
  std::string why;
  REQUIRE(check_batch(batch.data(), batch.size(), 1 << 20, &h, &why) == batch_state::ok);
  batch_records recs;
  Status st = recs.open(h, batch.data(), 1 << 20);
  REQUIRE_MESSAGE(st.ok(), st.message());
  std::vector<std::string> out;
  record_iterator it = recs.iterator(h);
  record_view r;
  int64_t expect = h.base_offset;
  while (it.next(&r) == 1) {
    CHECK(r.offset == expect++);
    out.emplace_back(r.value.view());
  }
  return out;
}

}  // namespace

TEST_CASE("every codec round-trips empty, small and large inputs") {
  for (codec c : kCodecs) {
    std::string name = codec_name(static_cast<int>(c));
    CAPTURE(name);
    for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{70000}, size_t{3} << 20}) {
      std::string in = sample(n);
      CHECK(roundtrip(c, in) == in);
    }
  }
}

TEST_CASE("codec names parse as kcat spells them") {
  CHECK(parse_codec("zstd").value() == codec::zstd);
  CHECK(parse_codec("none").value() == codec::none);
  CHECK(!parse_codec("lzma").ok());
  CHECK(parse_codec("lzma").status().message().find("gzip, snappy, lz4 or zstd") != std::string::npos);
  CHECK(std::string(codec_name(7)) == "unknown");
}

TEST_CASE("snappy: librdkafka's single raw block and the Java client's xerial framing both read") {
  std::string in = sample(100000), raw;
  snappy::Compress(in.data(), in.size(), &raw);
  std::vector<char> out;
  size_t size = 0;
  REQUIRE(decompress(codec::snappy, raw.data(), raw.size(), 1u << 30, &out, &size).ok());
  CHECK(std::string(out.data(), size) == in);
  std::vector<char> framed;
  REQUIRE(compress(codec::snappy, in.data(), in.size(), &framed).ok());
  CHECK(std::string(framed.data(), 8) == std::string("\x82SNAPPY\0", 8));
  CHECK(be::load32(framed.data() + 8) == 1);
  REQUIRE(decompress(codec::snappy, framed.data(), framed.size(), 1u << 30, &out, &size).ok());
  CHECK(std::string(out.data(), size) == in);
}

TEST_CASE("a damaged or truncated stream is refused, naming the codec") {
  std::string in = sample(50000);
  for (codec c : kCodecs) {
    std::string name = codec_name(static_cast<int>(c));
    CAPTURE(name);
    std::vector<char> z, out;
    REQUIRE(compress(c, in.data(), in.size(), &z).ok());
    size_t size = 0;
    for (size_t cut : {size_t{0}, size_t{1}, z.size() / 2, z.size() - 1}) {
      Status st = decompress(c, z.data(), cut, 1u << 30, &out, &size);
      CHECK(!st.ok());
      CHECK(st.message().find(codec_name(static_cast<int>(c))) != std::string::npos);
    }
    std::vector<char> garbage(z.size(), '\x5a');
    CHECK(!decompress(c, garbage.data(), garbage.size(), 1u << 30, &out, &size).ok());
  }
}

TEST_CASE("a stream that decompresses past the limit is refused before it is all allocated") {
  std::string zeros(64u << 20, '\0');
  for (codec c : kCodecs) {
    std::string name = codec_name(static_cast<int>(c));
    CAPTURE(name);
    std::vector<char> z, out;
    REQUIRE(compress(c, zeros.data(), zeros.size(), &z).ok());
    size_t size = 0;
    Status st = decompress(c, z.data(), z.size(), 1u << 20, &out, &size);
    CHECK(!st.ok());
    CHECK(st.message().find("more than 1048576 bytes") != std::string::npos);
    CHECK(out.capacity() <= 2 * ((1u << 20) + kDecompressPadding));  // vector growth: at most twice the limit
  }
}

TEST_CASE("compress_batch: a compressed batch checks, and reads the same records") {
  std::vector<char> plain = make_batch(200);
  std::vector<std::string> expect = values_of(plain);
  for (codec c : kCodecs) {
    std::string name = codec_name(static_cast<int>(c));
    CAPTURE(name);
    std::vector<char> batch = plain, scratch;
    auto n = compress_batch(batch.data(), batch.size(), c, &scratch);
    REQUIRE(n.ok());
    CHECK(n.value() < plain.size() / 2);
    batch.resize(n.value());
    batch_header h;
    std::string why;
    REQUIRE(check_batch(batch.data(), batch.size(), 1 << 20, &h, &why) == batch_state::ok);
    CHECK((h.attributes & format::kCompressionMask) == static_cast<int>(c));
    CHECK(h.record_count == 200);
    CHECK(values_of(batch) == expect);
  }
}

TEST_CASE("compress_batch leaves a batch that would not shrink uncompressed") {
  std::vector<char> buf(4096);
  batch_builder b;
  b.start(buf.data(), buf.size(), 0);
  std::string noise;
  uint64_t x = 88172645463325252ull;  // xorshift64: bytes no codec can shrink
  for (int i = 0; i < 300; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    noise += static_cast<char>(x >> 56);
  }
  REQUIRE(b.append(1, bytes_view::null(), bytes_view::of(noise)));
  buf.resize(b.finish());
  std::vector<char> before = buf, scratch;
  auto n = compress_batch(buf.data(), buf.size(), codec::gzip, &scratch);
  REQUIRE(n.ok());
  CHECK(n.value() == before.size());
  CHECK(buf == before);
}

TEST_CASE("a compressed batch whose payload is damaged under a valid CRC is reported, not read") {
  std::vector<char> batch = make_batch(50), scratch;
  auto n = compress_batch(batch.data(), batch.size(), codec::zstd, &scratch);
  REQUIRE(n.ok());
  batch.resize(n.value());
  batch[format::kBatchHeaderSize + 10] ^= 0x55;
  be::store32(batch.data() + format::kCrcOffset,
              crc32c(batch.data() + format::kCrcCoveredStart, batch.size() - format::kCrcCoveredStart));
  batch_header h;
  std::string why;
  REQUIRE(check_batch(batch.data(), batch.size(), 1 << 20, &h, &why) == batch_state::ok);
  batch_records recs;
  Status st = recs.open(h, batch.data(), 1 << 20);
  if (st.ok()) {  // zstd may decode the damage into other bytes: then the records do not parse
    record_iterator it = recs.iterator(h);
    record_view r;
    int rc, count = 0;
    while ((rc = it.next(&r)) == 1) count++;
    CHECK((rc < 0 || count != 50));
  } else {
    CHECK(st.message().find("zstd") != std::string::npos);
  }
}

TEST_CASE("check_batch refuses codec numbers past zstd") {
  std::vector<char> batch = make_batch(3);
  be::store16(batch.data() + format::kAttributesOffset, 5);
  be::store32(batch.data() + format::kCrcOffset,
              crc32c(batch.data() + format::kCrcCoveredStart, batch.size() - format::kCrcCoveredStart));
  batch_header h;
  std::string why;
  CHECK(check_batch(batch.data(), batch.size(), 1 << 20, &h, &why) == batch_state::corrupt);
  CHECK(why == "unknown compression codec 5");
}
