// Tests for src/broker's zstd rule (zstd_rule.h) and sessionless fetch
// sessions (fetch_session.h).
#include <doctest.h>

#include <string>

#include "broker/fetch_session.h"
#include "broker/zstd_rule.h"
#include "kappa/log/format.h"

using namespace kappa;
using namespace kappa::broker;

namespace {
// A batch header with `codec` in its attributes and `payload` bytes after
// it; only the fields carries_zstd reads are filled in.
std::string batch(int codec, size_t payload = 10) {
  std::string b(format::kBatchHeaderSize + payload, '\0');
  uint32_t len = static_cast<uint32_t>(b.size() - format::kLogOverhead);
  for (int i = 0; i < 4; i++) b[format::kBatchLengthOffset + i] = static_cast<char>(len >> (24 - 8 * i));
  b[format::kMagicOffset] = format::kMagicV2;
  b[format::kAttributesOffset + 1] = static_cast<char>(codec | 0x08);  // a LogAppendTime bit beside it
  return b;
}
}  // namespace

TEST_CASE("zstd rule: a zstd batch is found, other codecs are not") {
  CHECK_FALSE(carries_zstd(""));
  for (int c : {0, 1, 2, 3}) CHECK_FALSE(carries_zstd(batch(c)));
  CHECK(carries_zstd(batch(4)));
}

TEST_CASE("zstd rule: every batch of a record set is looked at") {
  CHECK(carries_zstd(batch(0) + batch(1, 100) + batch(4)));
  CHECK_FALSE(carries_zstd(batch(0) + batch(3, 0) + batch(2)));
}

TEST_CASE("zstd rule: a batch cut short or with a hostile length ends the walk") {
  std::string cut = batch(4).substr(0, format::kAttributesOffset + 1);
  CHECK_FALSE(carries_zstd(cut));  // the attributes are not all there
  std::string huge = batch(0);
  huge[format::kBatchLengthOffset] = '\x7f';  // claims 2 GiB
  CHECK_FALSE(carries_zstd(huge + batch(4)));
  std::string negative = batch(0);
  negative[format::kBatchLengthOffset] = '\xff';
  CHECK_FALSE(carries_zstd(negative + batch(4)));
}

TEST_CASE("fetch sessions: full fetches pass, incremental ones find no session") {
  CHECK(fetch_session_error(0, 0) == 0);    // a full fetch that would open a session
  CHECK(fetch_session_error(0, -1) == 0);   // a full fetch without one
  CHECK(fetch_session_error(55, -1) == 0);  // closes session 55: full
  CHECK(fetch_session_error(55, 0) == 0);
  CHECK(fetch_session_error(55, 1) == kFetchSessionIdNotFound);
  CHECK(fetch_session_error(0, 7) == kFetchSessionIdNotFound);
  CHECK(fetch_session_error(55, -2) == kFetchSessionIdNotFound);
  CHECK(kFetchSessionIdNotFound == 70);
  CHECK(kUnsupportedCompressionType == 76);
}
