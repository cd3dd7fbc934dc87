// Vectors from Apache Kafka's UtilsTest.testMurmur2.
#include <doctest.h>

#include <string>

#include "util/murmur2.h"

static int32_t m(const std::string& s) { return kappa::murmur2(s.data(), s.size()); }

TEST_CASE("murmur2 matches Kafka's Utils.murmur2 test vectors") {
  CHECK(m("21") == -973932308);
  CHECK(m("foobar") == -790332482);
  CHECK(m("a-little-bit-long-string") == -985981536);
  CHECK(m("a-little-bit-longer-string") == -1486304829);
  CHECK(m("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971);
  CHECK(m("abc") == 479470107);
}

TEST_CASE("partition is toPositive(murmur2) modulo the partition count") {
  // toPositive(-790332482) = -790332482 & 0x7fffffff = 1357151166
  CHECK(kappa::kafka_partition_for_key("foobar", 6, 10) == 1357151166 % 10);
  CHECK(kappa::kafka_partition_for_key("foobar", 6, 1) == 0);
}
