#include <doctest.h>

#include <string>

#include "util/crc32c.h"

TEST_CASE("crc32c matches the standard check value") {
  CHECK(kappa::crc32c("123456789", 9) == 0xE3069283u);
  CHECK(kappa::crc32c("", 0) == 0u);
}

TEST_CASE("crc32c_extend continues a checksum") {
  std::string a = "hello, ", b = "kafka";
  CHECK(kappa::crc32c_extend(kappa::crc32c(a.data(), a.size()), b.data(), b.size()) ==
        kappa::crc32c((a + b).data(), a.size() + b.size()));
}
