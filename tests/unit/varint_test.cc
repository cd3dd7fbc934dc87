#include <doctest.h>

#include <cstdint>
#include <vector>

#include "util/varint.h"

using namespace kappa;

TEST_CASE("zig-zag varints round trip across the int64 range") {
  std::vector<int64_t> values = {0,   1,    -1,      63,        -64,       64,        -65,       127,          128,
                                 300, -300, 1 << 20, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, 1700000000000};
  for (int64_t v : values) {
    char buf[16];
    char* end = varint::put(buf, v);
    CHECK(static_cast<size_t>(end - buf) == varint::size(v));
    int64_t back = 0;
    const char* p = varint::get64(buf, end, &back);
    REQUIRE(p == end);
    CHECK(back == v);
  }
}

TEST_CASE("zig-zag encoding matches protobuf's examples") {
  CHECK(varint::zigzag(0) == 0);
  CHECK(varint::zigzag(-1) == 1);
  CHECK(varint::zigzag(1) == 2);
  CHECK(varint::zigzag(-2) == 3);
  char buf[16];
  CHECK(varint::put(buf, 150) - buf == 2);  // zigzag 300 = 0xac 0x02
  CHECK(static_cast<unsigned char>(buf[0]) == 0xac);
  CHECK(static_cast<unsigned char>(buf[1]) == 0x02);
}

TEST_CASE("truncated or overlong varints are rejected") {
  char buf[16];
  char* end = varint::put(buf, 1 << 30);
  int64_t v;
  for (char* cut = buf; cut < end; cut++) CHECK(varint::get64(buf, cut, &v) == nullptr);
  const char overlong[6] = {'\x80', '\x80', '\x80', '\x80', '\x80', '\x01'};
  CHECK(varint::get32(overlong, overlong + 6, &v) == nullptr);
}
