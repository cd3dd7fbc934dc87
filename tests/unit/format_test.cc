// The byte diagram in format.h, checked field by field (redpanda's index
// comment drifted from its code; this keeps ours honest).
#include <doctest.h>

#include "kappa/log/format.h"

using namespace kappa::format;

TEST_CASE("record batch v2 header offsets match the diagram") {
  CHECK(kBaseOffsetOffset == 0);
  CHECK(kBatchLengthOffset == 8);
  CHECK(kLeaderEpochOffset == 12);
  CHECK(kMagicOffset == 16);
  CHECK(kCrcOffset == 17);
  CHECK(kAttributesOffset == 21);
  CHECK(kLastOffsetDeltaOffset == 23);
  CHECK(kBaseTimestampOffset == 27);
  CHECK(kMaxTimestampOffset == 35);
  CHECK(kProducerIdOffset == 43);
  CHECK(kProducerEpochOffset == 51);
  CHECK(kBaseSequenceOffset == 53);
  CHECK(kRecordCountOffset == 57);
  CHECK(kBatchHeaderSize == 61);
  CHECK(kLogOverhead == 12);
  CHECK(kCrcCoveredStart == 21);
}

TEST_CASE("index entry sizes match Kafka's") {
  CHECK(kOffsetIndexEntrySize == kOffsetIndexRelOffsetSize + kOffsetIndexPositionSize);
  CHECK(kOffsetIndexEntrySize == 8);
  CHECK(kTimeIndexEntrySize == kTimeIndexTimestampSize + kTimeIndexRelOffsetSize);
  CHECK(kTimeIndexEntrySize == 12);
  CHECK(kIndexIntervalBytes == 4096);
  CHECK(kSegmentNameDigits == 20);
}
