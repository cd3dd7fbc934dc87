// Kafka's sparse time index (.timeindex): the largest timestamp seen so far
// in a segment -> the offset of the batch holding it. Used to find the first
// record at or after a timestamp, and (last entry) a sealed segment's
// newest timestamp for time-based retention.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kappa {

struct time_index_entry {
  int64_t timestamp;
  int64_t offset;  // absolute
};

class time_index {
 public:
  explicit time_index(int64_t base_offset = 0) : base_(base_offset) {}

  // Decodes a .timeindex file's bytes, keeping the longest well-formed prefix
  // (timestamps and offsets non-decreasing, offsets below end_offset).
  static time_index decode(int64_t base_offset, const std::string& bytes, int64_t end_offset, bool* consistent);

  // Appends when timestamp is larger than the last entry's (Kafka's
  // maybeAppend); returns whether it did.
  bool maybe_append(int64_t timestamp, int64_t offset);
  // Offset to start scanning from for the first record with timestamp >=
  // target: that of the last entry whose timestamp is below target, else -1
  // (scan from the segment start).
  int64_t lookup(int64_t target) const;
  // Drops entries whose offset is at or past `offset`.
  void truncate_to_offset(int64_t offset);

  std::string encode(size_t from = 0) const;
  const std::vector<time_index_entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  int64_t base_;
  std::vector<time_index_entry> entries_;
};

}  // namespace kappa
