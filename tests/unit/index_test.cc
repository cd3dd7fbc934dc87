#include <doctest.h>

#include "log/offset_index.h"
#include "log/segment_name.h"
#include "log/time_index.h"

using namespace kappa;

TEST_CASE("offset index lookup returns the last entry at or below the target") {
  offset_index idx(100);
  idx.append(109, 4200);
  idx.append(130, 9000);
  CHECK(idx.lookup(100) == 0);
  CHECK(idx.lookup(108) == 0);
  CHECK(idx.lookup(109) == 4200);
  CHECK(idx.lookup(129) == 4200);
  CHECK(idx.lookup(500) == 9000);
}

TEST_CASE("offset index encodes big-endian relative offsets and decodes back") {
  offset_index idx(100);
  idx.append(109, 4200);
  idx.append(130, 9000);
  std::string bytes = idx.encode();
  REQUIRE(bytes.size() == 16);
  CHECK(static_cast<unsigned char>(bytes[3]) == 9);  // 109 - 100
  bool ok = false;
  auto back = offset_index::decode(100, bytes, 10000, &ok);
  CHECK(ok);
  REQUIRE(back.entries().size() == 2);
  CHECK(back.entries()[1].offset == 130);
  CHECK(back.entries()[1].position == 9000);
}

TEST_CASE("offset index decoding drops entries past the log or out of order") {
  offset_index idx(0);
  idx.append(10, 100);
  idx.append(20, 200);
  idx.append(30, 300);
  bool ok = true;
  auto back = offset_index::decode(0, idx.encode(), 250, &ok);
  CHECK_FALSE(ok);
  CHECK(back.entries().size() == 2);
  ok = true;
  back = offset_index::decode(0, idx.encode() + "abc", 1000, &ok);
  CHECK_FALSE(ok);  // a partial entry
  CHECK(back.entries().size() == 3);
}

TEST_CASE("time index appends only growing timestamps and finds a start") {
  time_index t(0);
  CHECK(t.maybe_append(1000, 5));
  CHECK_FALSE(t.maybe_append(900, 9));
  CHECK(t.maybe_append(2000, 20));
  CHECK(t.lookup(500) == -1);
  CHECK(t.lookup(1000) == -1);
  CHECK(t.lookup(1500) == 5);
  CHECK(t.lookup(9999) == 20);
  bool ok = false;
  auto back = time_index::decode(0, t.encode(), 100, &ok);
  CHECK(ok);
  CHECK(back.entries().size() == 2);
  back = time_index::decode(0, t.encode(), 10, &ok);
  CHECK_FALSE(ok);
}

TEST_CASE("segment names are 20 zero-padded digits") {
  CHECK(segment_stem(0) == "00000000000000000000");
  CHECK(segment_stem(1234) == "00000000000000001234");
  CHECK(parse_segment_name("00000000000000001234.log", ".log") == 1234);
  CHECK_FALSE(parse_segment_name("0000000000000001234.log", ".log"));
  CHECK_FALSE(parse_segment_name("00000000000000001234.index", ".log"));
  CHECK_FALSE(parse_segment_name("0000000000000000123x.log", ".log"));
}
