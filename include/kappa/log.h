// kappa/log.h — append to and read from one partition of a kappa log.
//
// A partition is a directory of Kafka-format segments (kappa/log/format.h).
// It has at most one appender at a time, across processes (a lock); any
// number of readers, in any process, run beside it and only ever see whole
// batches. Most programs open partitions through kappa::data_dir
// (kappa/data_dir.h), which knows topics and their configs.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kappa/record.h"
#include "kappa/status.h"

namespace kappa {

// Told by an appender about its active segment (the data dir uses it to run
// retention and to keep its disk budget). Called on the appender's thread.
class segment_observer {
 public:
  virtual ~segment_observer() = default;
  // The appender opened its partition; its active segment holds
  // active_bytes. Returning true asks it to roll at the first batch.
  virtual bool opened(uint64_t /*active_bytes*/) { return false; }
  // The active segment was sealed and a new one started.
  virtual void segment_rolled() = 0;
  // `bytes` more were written to the active segment, now `active_bytes`
  // long. Returning true asks the appender to roll at the next batch.
  virtual bool wrote(uint64_t bytes, uint64_t active_bytes) = 0;
};

// How a partition is stored; the topic configs of the same names.
struct partition_options {
  uint64_t segment_bytes = 1ull << 30;          // segment.bytes
  int64_t segment_ms = 7ll * 24 * 3600 * 1000;  // segment.ms
  uint32_t max_message_bytes = 1048588;         // max.message.bytes (a batch)
  // Size of each of an appender's two write buffers (they grow for a record
  // that needs more). A writer of many partitions passes a smaller one to
  // keep its memory bounded.
  size_t write_buffer_bytes = 512u << 10;
  // Appenders: compress each batch's records with this codec (kcat's -z).
  // A batch that would not shrink is written uncompressed.
  kappa::codec compression = kappa::codec::none;
  // Appenders: message.timestamp.type=LogAppendTime. Each batch is stamped
  // with the wall clock when it is closed (or, a client's, appended), as a
  // Kafka broker does: attribute bit 3 set and maxTimestamp = that time,
  // which readers then report as every record's timestamp. The records'
  // own timestamps stay in the batch, unused.
  bool log_append_time = false;

  // Retention and compaction (kappa/retention.h applies them).
  int64_t retention_ms = 7ll * 24 * 3600 * 1000;  // retention.ms, -1 = forever
  int64_t retention_bytes = -1;                   // retention.bytes, -1 = no limit
  bool cleanup_delete = true;                     // cleanup.policy has delete
  bool cleanup_compact = false;                   // cleanup.policy has compact
  int64_t delete_retention_ms = 86400000;         // delete.retention.ms
  int64_t min_compaction_lag_ms = 0;              // min.compaction.lag.ms
  double min_cleanable_dirty_ratio = 0.5;         // min.cleanable.dirty.ratio
  // This partition's directory in the archive tier (archive.dir): segments
  // leaving retention move there instead of being deleted. Empty = none.
  std::string archive_dir;
  // Readers: read the archived segments first, then on into the live log.
  bool read_archive = false;
  // Readers: map the pages of a long stretch of log in on a second thread
  // ahead of the reader. For a reader that is its process's one busy
  // thread, e.g. a replay to stdout; it costs a thread per partition read.
  bool prefetch = false;
  // Appenders: told when the active segment rolls or grows.
  std::shared_ptr<segment_observer> observer;
  // Appenders: a brief writer (kappa serve) holds the partition's writer
  // lock only while it writes: release_lock() gives it back between rounds,
  // so other processes' writers get their turn, and they wait for a brief
  // writer instead of failing. It never waits itself: Busy, and it retries.
  bool brief_writer = false;
};

// Appends records to a partition.
//
// Data marks: append() puts a record in an in-memory batch; flush() writes
// all closed and open batches to the segment file, where readers see them;
// sync() is flush() plus fdatasync: on OK every appended record is durable.
// Batches are also written on their own when they fill up. Rolls to a new
// segment by segment.bytes and segment.ms happen inside append/flush.
class partition_appender {
 public:
  // Takes the partition's writer lock at once (Busy, naming the holder's
  // pid, if another process has it). `dir` is created if missing. `name` is
  // how messages name the partition, e.g. "topic clicks partition 0".
  // Recovery after a crash and positioning at the end happen on first use
  // (append, or open_now()), so holding many idle partitions is cheap.
  static Result<std::unique_ptr<partition_appender>> open(const std::string& dir, const std::string& name,
                                                          const partition_options& options);
  // Writes what is buffered (no fdatasync) and releases the lock.
  ~partition_appender();

  // Appends one record with the next offset. Invalid if the record alone is
  // larger than max.message.bytes allows (nothing is appended then).
  Status append(int64_t timestamp, bytes_view key, bytes_view value, std::span<const record_header> headers = {});
  // Appends a whole RecordBatch v2 encoded by someone else (a Kafka
  // client), compressed or not, as it is: only its base offset becomes the
  // next offset (*base_offset), which the CRC does not cover. Corruption if
  // it is not a valid batch (magic, CRC, a record count its records do not
  // match, a compressed payload that does not decompress); Invalid if it is
  // larger than max.message.bytes or segment.bytes. Nothing is appended then.
  // With log_append_time (LogAppendTime), the stored copy is also stamped
  // with the append time (attributes, maxTimestamp and CRC rewritten, as a
  // Kafka broker does); *append_time, if given, gets that time, or -1
  // (CreateTime).
  Status append_batch(std::string_view batch, int64_t* base_offset, int64_t* append_time = nullptr);
  // Switches message.timestamp.type for the batches closed or appended from
  // now on: a long-lived writer (kappa serve) follows `topic alter`.
  void set_log_append_time(bool on);
  Status flush();
  Status sync();
  // sync() of many appenders at once: their fdatasyncs are in flight
  // together, so a writer of many partitions pays about one device flush
  // rather than one per partition, one after another. Null entries and
  // appenders not used yet are skipped. On OK every record appended to any
  // of them is durable; else the first error, naming its partition (that
  // appender has failed, as after a failed sync()).
  static Status sync_all(std::span<partition_appender* const> appenders);

  // A brief writer's end of a round: writes what is buffered and gives the
  // writer lock back. The next append takes it again (Busy if another
  // process has it now) and, if that process appended meanwhile, first
  // finds the partition's new end as opening does.
  Status release_lock();
  bool holds_lock() const;

  // Recovers the partition and opens its files now rather than on the
  // first append (errors surface here instead).
  Status open_now();
  // Removes every record at or after `end_offset`, so the next append gets
  // it (an exactly-once job cuts its output back to its last checkpoint).
  // Only before the appender is open (first append or open_now()); Invalid
  // if end_offset is inside a batch or below the log start.
  Status truncate_to(int64_t end_offset);
  bool is_open() const;
  // The offset the next appended record gets (the log end offset); -1
  // until the appender is open.
  int64_t next_offset() const;
  // How many batches have been closed so far: callers that spread keyless
  // records per batch (Kafka's sticky partitioner) watch it change.
  uint64_t batches_closed() const;
  // Repairs made while opening (a truncated torn tail, a rebuilt index);
  // empty until the appender is open.
  const std::vector<std::string>& recovery_notes() const;

  struct impl;

 private:
  explicit partition_appender(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// Where a read stopped at damaged bytes.
struct corruption_info {
  std::string segment;    // path of the .log file
  uint64_t position = 0;  // byte position of the bad batch in it
  int64_t offset = 0;     // the first offset that could not be read
  std::string why;        // what check failed
};

// An open segment file, shared by the batch ranges read from it: it stays
// open while anyone holds it, whatever retention or compaction does to the
// segment's name meanwhile.
class segment_file {
 public:
  segment_file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~segment_file();
  segment_file(const segment_file&) = delete;
  segment_file& operator=(const segment_file&) = delete;
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

// Whole stored batches, one after another in one segment file: the bytes
// [position, position + length) of `file`. What a broker sends with
// sendfile(2) instead of copying the batches through user space.
struct batch_range {
  std::shared_ptr<const segment_file> file;
  uint64_t position = 0;
  uint64_t length = 0;
  int64_t base_offset = 0;  // of the first batch
  int64_t last_offset = 0;  // of the last batch
  uint32_t batches = 0;
  uint64_t records = 0;  // the batches' record counts, summed
};

// Reads a partition in offset order, from any offset, while it is appended.
class partition_reader {
 public:
  enum class status { record, end, corrupt };

  // Opens a reader. If no writer holds the partition, it first recovers it
  // (a crashed writer's torn tail is cut) exactly as a writer would.
  static Result<std::unique_ptr<partition_reader>> open(const std::string& dir, const std::string& name,
                                                        const partition_options& options);
  ~partition_reader();

  // The first offset in the partition (the base of its oldest segment, as
  // of now: retention moves it). With read_archive, the oldest archived one.
  int64_t log_start_offset();
  // The offset after the last whole batch, as of now.
  Result<int64_t> log_end_offset();
  // Newest record timestamp in the partition (-1 if empty), as of now.
  Result<int64_t> newest_timestamp();
  // Positions so that next() returns the first record with offset >= offset
  // (offsets below the log start read from the start).
  Status seek(int64_t offset);
  // Positions at the first record whose timestamp is >= ts (Kafka's
  // offsetsForTimes), or at the end if there is none.
  Status seek_to_timestamp(int64_t ts);

  // The next record. `end`: no more for now (call again later to follow);
  // `corrupt`: damage at the read position, see corruption(); the reader
  // stays before it until skip_corrupt(). Errors of the OS come as Status.
  Result<status> next(record_view* out);
  // Like next(), for up to `max` records of one batch at once (the fast
  // path of a sequential scan): *count records are in out[0, *count), all
  // valid until the next call. status::record whenever *count > 0.
  Result<status> next_many(record_view* out, size_t max, size_t* count);
  // The same for value-only readers: offsets and values of up to `max`
  // records of one batch, skipping the decoding of keys and timestamps.
  Result<status> next_values(int64_t* offsets, bytes_view* values, size_t max, size_t* count);
  // The next whole batch as it is stored (compressed or not, CRC checked):
  // the one holding the next record, then the ones after it. Its bytes
  // are valid until the next call. What a broker's Fetch serves.
  Result<status> next_batch(std::string_view* batch);
  // The batches next_batch() would return next, as a file range instead of
  // bytes, checked the same way: the first one (whatever its size if
  // at_least_one, else `end` if it is over max_bytes), then the ones right
  // after it in the same segment while the range stays within max_bytes. A
  // batch that does not fit is left for the next call. A batch that is
  // damaged, or not whole yet, ends the range; the next call reports it as
  // next_batch() would.
  Result<status> next_batch_range(batch_range* out, uint64_t max_bytes, bool at_least_one = true);
  const corruption_info& corruption() const;
  // Offsets [*from, *to) that retention removed while this reader still had
  // them ahead (a reader that fell behind); true once per such gap. Readers
  // of compact-only partitions, where gaps are normal, never report one.
  bool take_removed_gap(int64_t* from, int64_t* to);
  // Steps over the damage last reported: to the next valid batch the
  // segment's own structure or index vouches for, else to the next segment.
  // Returns the first offset after the skipped range.
  Result<int64_t> skip_corrupt();
  // The offset next() would return next, at best (records may be missing
  // after compaction). Records below it have been returned.
  int64_t position() const;

  struct impl;

 private:
  explicit partition_reader(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// Waits for appends to any of a set of partition directories without
// polling (inotify).
class log_watcher {
 public:
  log_watcher();
  ~log_watcher();
  log_watcher(const log_watcher&) = delete;
  log_watcher& operator=(const log_watcher&) = delete;
  Status add(const std::string& dir);
  // Returns after a change in a watched directory or timeout_ms (-1 = none).
  Status wait(int timeout_ms);

 private:
  int fd_ = -1;
};

}  // namespace kappa
