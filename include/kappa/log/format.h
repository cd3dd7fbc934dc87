// kappa/log/format.h — kappa's on-disk log format, which is Apache Kafka's.
//
// This header is the one place to read the format from; every constant the
// codec, indexes and recovery use lives here, and tests/unit/format_test.cc
// checks each size and offset against the diagrams.
//
// PARTITION DIRECTORY   DIR/topics/<topic>-<partition>/
//   00000000000000000000.log        segments, named by their base offset
//   00000000000000000000.index      (the first offset they hold), 20 digits,
//   00000000000000000000.timeindex  zero padded. The newest segment is the
//   00000000000000001234.log ...    "active" one; only it is appended to.
//   writer.lock                     flock()ed by the one writer; holds its pid
//   cleaner.lock                    flock()ed by whoever removes or rewrites
//                                   sealed segments (retention, compaction)
//   cleaner-offset-checkpoint       compaction progress (below)
//   <base>.log.cleaned etc.         a compacted segment being swapped in, and
//   <base>.swap                     the segments it replaces (below)
//   <base>.log.cutting              a .log cut shorter while a reader had it
//                                   mapped: the shorter copy, renamed over the
//                                   .log when complete (src/log/segment_map.h)
//
// ARCHIVE DIRECTORY (topic config archive.dir)   ARCHIVE/<topic>-<partition>/
//   Segments that left retention, moved with their two indexes, same names
//   and bytes. A segment is copied as <name>.archiving, fsynced, renamed,
//   and only then removed from the partition directory.
//
// COMPACTION SWAP: a group of sealed segments B0 < B1 < ... < Bk is replaced
// by one segment named B0 holding their surviving records:
//   1. write B0.log.cleaned, B0.index.cleaned, B0.timeindex.cleaned, and
//      the manifest B0.swap (B1..Bk, one decimal base offset per line); fsync
//   2. remove B0.index and B0.timeindex (a reader then scans B0 from 0)
//   3. rename B0.log.cleaned -> B0.log                  (the commit point)
//   4. remove B1..Bk (all three files each)
//   5. rename B0.index.cleaned, B0.timeindex.cleaned into place; remove
//      B0.swap
// The swap has committed exactly when B0.swap exists and B0.log.cleaned
// does not. On open, a committed swap is finished (steps 4 and 5 again);
// any other leftover is undone: the manifest is removed first, then the
// .cleaned files, B0.log.cleaned last, so an interrupted undo never looks
// committed.
//
// CLEANER CHECKPOINT (cleaner-offset-checkpoint), text, replaced atomically:
//   "<first dirty offset> <earliest tombstone expiry ms or -1>\n"
//
// SEGMENT (.log): a plain sequence of RecordBatch v2, nothing before, between
// or after them. All integers big-endian.
//
//   offset  size  field
//   ------  ----  ---------------------------------------------------------
//        0     8  baseOffset            offset of the first record
//        8     4  batchLength           bytes after this field (total - 12)
//       12     4  partitionLeaderEpoch  0 (kappa is its own single leader)
//       16     1  magic                 2
//       17     4  crc                   CRC-32C of bytes [21, end)
//       21     2  attributes            bits 0-2 compression (0 = none),
//                                       3 timestamp type (0 = CreateTime,
//                                         1 = LogAppendTime, below),
//                                       4 transactional, 5 control
//       23     4  lastOffsetDelta       last record's offset - baseOffset
//       27     8  baseTimestamp         first record's timestamp (ms)
//       35     8  maxTimestamp          largest record timestamp (ms), or
//                                       the append time (LogAppendTime)
//       43     8  producerId            -1 (no idempotent producer)
//       51     2  producerEpoch         -1
//       53     4  baseSequence          -1
//       57     4  recordCount
//       61     …  records
//
// RECORD (inside a batch; v = zig-zag varint, vl = zig-zag varlong):
//   length v | attributes i8 (0) | timestampDelta vl | offsetDelta v |
//   keyLength v (-1 = null) | key | valueLength v (-1 = null, a tombstone) |
//   value | headerCount v | headers: (keyLength v | key | valueLength v | value)*
//   `length` counts the bytes after itself.
//   A record's timestamp is baseTimestamp + timestampDelta in a CreateTime
//   batch. In a LogAppendTime batch (attributes bit 3, written for topics
//   with message.timestamp.type=LogAppendTime) it is the batch's
//   maxTimestamp, the time the log appended the batch, for every record;
//   the deltas keep the writer's times and are not read. As in Kafka, the
//   time index and retention see the append time too (maxTimestamp).
//
// OFFSET INDEX (.index): sparse, 8-byte entries, sorted.
//   0  4  relativeOffset   offset - segment base offset (u32)
//   4  4  position         file position of a batch start (u32)
// As Kafka's LogSegment.append: after more than kIndexIntervalBytes of log
// have been written since the last entry, the next appended batch gets an
// entry (its LAST offset, its start position). The first batch has none.
//
// TIME INDEX (.timeindex): sparse, 12-byte entries, timestamps increasing.
//   0  8  timestamp        largest timestamp in the segment so far (ms)
//   8  4  relativeOffset   offset of the batch holding it, minus base (u32)
// Appended alongside each offset-index entry when the timestamp grew, and
// once more when the segment is sealed (rolled).
//
// Offsets are i64, positions u32 (so a segment is at most 2 GiB, as Kafka's
// segment.bytes is an int), timestamps i64 milliseconds since the epoch.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kappa::format {

// RecordBatch v2 header fields: offsets, sizes.
inline constexpr size_t kBaseOffsetOffset = 0, kBaseOffsetSize = 8;
inline constexpr size_t kBatchLengthOffset = kBaseOffsetOffset + kBaseOffsetSize, kBatchLengthSize = 4;
inline constexpr size_t kLeaderEpochOffset = kBatchLengthOffset + kBatchLengthSize, kLeaderEpochSize = 4;
inline constexpr size_t kMagicOffset = kLeaderEpochOffset + kLeaderEpochSize, kMagicSize = 1;
inline constexpr size_t kCrcOffset = kMagicOffset + kMagicSize, kCrcSize = 4;
inline constexpr size_t kAttributesOffset = kCrcOffset + kCrcSize, kAttributesSize = 2;
inline constexpr size_t kLastOffsetDeltaOffset = kAttributesOffset + kAttributesSize, kLastOffsetDeltaSize = 4;
inline constexpr size_t kBaseTimestampOffset = kLastOffsetDeltaOffset + kLastOffsetDeltaSize, kBaseTimestampSize = 8;
inline constexpr size_t kMaxTimestampOffset = kBaseTimestampOffset + kBaseTimestampSize, kMaxTimestampSize = 8;
inline constexpr size_t kProducerIdOffset = kMaxTimestampOffset + kMaxTimestampSize, kProducerIdSize = 8;
inline constexpr size_t kProducerEpochOffset = kProducerIdOffset + kProducerIdSize, kProducerEpochSize = 2;
inline constexpr size_t kBaseSequenceOffset = kProducerEpochOffset + kProducerEpochSize, kBaseSequenceSize = 4;
inline constexpr size_t kRecordCountOffset = kBaseSequenceOffset + kBaseSequenceSize, kRecordCountSize = 4;
inline constexpr size_t kBatchHeaderSize = kRecordCountOffset + kRecordCountSize;  // 61
// The length field counts everything after itself.
inline constexpr size_t kLogOverhead = kBaseOffsetSize + kBatchLengthSize;  // 12
// The CRC covers attributes .. end of batch.
inline constexpr size_t kCrcCoveredStart = kAttributesOffset;  // 21

inline constexpr int8_t kMagicV2 = 2;
inline constexpr int32_t kLeaderEpoch = 0;
inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int32_t kNoSequence = -1;

// Attribute bits.
inline constexpr uint16_t kCompressionMask = 0x07;
inline constexpr uint16_t kTimestampTypeLogAppend = 0x08;
inline constexpr uint16_t kTransactionalFlag = 0x10;
inline constexpr uint16_t kControlFlag = 0x20;

// Offset index.
inline constexpr size_t kOffsetIndexEntrySize = 8;
inline constexpr size_t kOffsetIndexRelOffsetSize = 4;
inline constexpr size_t kOffsetIndexPositionSize = 4;
// Time index.
inline constexpr size_t kTimeIndexEntrySize = 12;
inline constexpr size_t kTimeIndexTimestampSize = 8;
inline constexpr size_t kTimeIndexRelOffsetSize = 4;
// Kafka's index.interval.bytes default.
inline constexpr uint32_t kIndexIntervalBytes = 4096;

// Segment file names: 20 decimal digits of the base offset, then a suffix.
inline constexpr size_t kSegmentNameDigits = 20;
inline constexpr const char* kLogSuffix = ".log";
inline constexpr const char* kIndexSuffix = ".index";
inline constexpr const char* kTimeIndexSuffix = ".timeindex";
inline constexpr const char* kWriterLockFile = "writer.lock";
inline constexpr const char* kCleanerLockFile = "cleaner.lock";
inline constexpr const char* kCleanerCheckpointFile = "cleaner-offset-checkpoint";
inline constexpr const char* kCleanedSuffix = ".cleaned";
inline constexpr const char* kSwapManifestSuffix = ".swap";
inline constexpr const char* kArchivingSuffix = ".archiving";
// A .log cut shorter while a reader maps it is written here, then renamed
// over the .log (see src/log/segment_map.h); a crash may leave one behind.
inline constexpr const char* kCuttingSuffix = ".cutting";

// The largest record (header varints) kappa encodes: 5 bytes per varint,
// 10 per varlong; used to bound buffer space before encoding.
inline constexpr size_t kMaxRecordOverhead = 5 + 1 + 10 + 5 + 5 + 5 + 5;

}  // namespace kappa::format
