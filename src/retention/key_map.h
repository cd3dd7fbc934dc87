// Compaction's key map: record key -> offset of its latest record, keyed by
// a 128-bit XXH3 digest of the key rather than the key itself, so every
// entry has the same small size (24 bytes) whatever the keys are. Open
// addressing with linear probing; grows by doubling up to a byte limit.
// (Kafka's SkimpyOffsetMap, with a wider digest: a collision would drop a
// live record, and at 128 bits one is not expected in the lifetime of
// the universe's disks.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kappa/record.h"

namespace kappa {

class key_map {
 public:
  // The table never grows past max_bytes (nor below 16 slots).
  explicit key_map(size_t max_bytes);

  // Records that `key` has a record at `offset` (offsets only grow). False
  // when the map is full and the key is not in it yet. A null key is never
  // stored (keyless records supersede nothing).
  bool put(bytes_view key, int64_t offset);
  // The latest offset recorded for `key`, or -1 (always for a null key).
  int64_t get(bytes_view key) const;

  size_t size() const { return size_; }
  size_t memory_bytes() const { return slots_.size() * sizeof(slot); }

 private:
  struct slot {
    uint64_t lo, hi;
    int64_t offset;  // -1 = empty
  };
  static constexpr size_t kInitialSlots = 4096, kMinSlots = 16;
  size_t find(uint64_t lo, uint64_t hi) const;  // the slot holding it, or the empty one to use
  bool grow();

  std::vector<slot> slots_;
  size_t mask_ = 0, size_ = 0, max_slots_ = 0;
};

}  // namespace kappa
