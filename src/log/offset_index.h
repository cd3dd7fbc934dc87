// Kafka's sparse offset index (.index): offset -> file position of the batch
// that holds it. Entries live in memory; the file is their big-endian
// encoding (format.h). Lookups return where to start scanning, never more.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kappa {

struct offset_index_entry {
  int64_t offset;     // absolute; the LAST offset of the indexed batch
  uint32_t position;  // where that batch starts in the .log file
};

class offset_index {
 public:
  explicit offset_index(int64_t base_offset = 0) : base_(base_offset) {}

  // Decodes a .index file's bytes. Keeps the longest prefix of entries that
  // is well formed: strictly increasing offsets, increasing positions below
  // log_size. *consistent is false when anything had to be dropped.
  static offset_index decode(int64_t base_offset, const std::string& bytes, uint64_t log_size, bool* consistent);

  void append(int64_t offset, uint32_t position) { entries_.push_back({offset, position}); }
  // Position to start scanning from for `target`: that of the last entry
  // whose offset is <= target, else 0 (the segment start).
  uint32_t lookup(int64_t target) const;
  // Drops entries whose position is at or past `position`.
  void truncate_to_position(uint64_t position);

  // Big-endian encoding of entries [from, size()).
  std::string encode(size_t from = 0) const;
  const std::vector<offset_index_entry>& entries() const { return entries_; }
  int64_t base_offset() const { return base_; }
  bool empty() const { return entries_.empty(); }

 private:
  int64_t base_;
  std::vector<offset_index_entry> entries_;
};

}  // namespace kappa
