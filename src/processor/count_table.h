// Per-window event counts, by value of the --count-by field, for all the
// windows of one session_windows: a row per window slot.
//
// Value 0 stands for "the event had no count-by value", so a window's
// event count is the sum of its row and needs no field of its own. Other
// values are interned (value bytes -> id, ids from 1 in first-seen order).
//
// Rows are dense while there are at most kMaxDense values (so with few
// values, as with event types, a row is a handful of 2-byte counters and
// an event one increment): counters are 16-bit until one would overflow,
// and from then on 32-bit for the whole table, then 64-bit. With more
// values the table turns sparse for good: a row is then a list of (value,
// 64-bit count) cells, holding only the values its window has seen.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "processor/key_table.h"

namespace kappa {

class count_table {
 public:
  static constexpr uint32_t kNoValue = 0;
  static constexpr uint32_t kMaxDense = 16;  // row width, value 0 included

  // The id of a count-by value (interning it if new).
  uint32_t intern(std::string_view value) {
    // Few short values (event types, say) are compared, not hashed.
    for (const auto& s : short_values_)
      if (s.length == value.size() && key_table::same_bytes(s.bytes, value.data(), value.size())) return s.id;
    uint64_t h = key_table::hash(value);
    uint32_t id = values_.find(value, h);
    return id != key_table::kNone ? id + 1 : add_value(value, h);
  }
  // The bytes of value id (>= 1): valid while the table lives (values are
  // never forgotten; there are few of them, or they are sparse).
  std::string_view value(uint32_t id) const { return values_.key(id - 1); }

  // Makes rows [0, n) exist; new rows are zero.
  void resize(size_t n);

  // Starts loading a row (to overlap the cache miss with other work).
  void prefetch(uint32_t row) const {
    if (!sparse_) cache_prefetch(dense_.data() + static_cast<size_t>(row) * width_ * bytes_);
  }
  // row[v] += 1, the per-event step.
  void increment(uint32_t row, uint32_t v) {
    if (!sparse_ && bytes_ == 2) {
      unsigned char* p = dense_.data() + (static_cast<size_t>(row) * width_ + v) * 2;
      uint16_t c;
      std::memcpy(&c, p, 2);
      if (c != UINT16_MAX) [[likely]] {
        c++;
        std::memcpy(p, &c, 2);
        return;
      }
    }
    add(row, v, 1);
  }
  // row[v] += n, n >= 0.
  void add(uint32_t row, uint32_t v, int64_t n);
  // dst += src; src becomes zero.
  void merge(uint32_t dst, uint32_t src);
  void clear(uint32_t row);
  // The event count: the sum of the row.
  int64_t total(uint32_t row) const;
  // Appends the row's (value id, count) entries with a value and a count
  // other than zero to *out, in byte order of the values.
  void entries(uint32_t row, std::vector<std::pair<uint32_t, int64_t>>* out) const;

  // Bytes held, by capacity: the counters (or cells), and the interned
  // values' table and bytes.
  size_t row_bytes() const;
  size_t value_bytes() const { return values_.slot_bytes() + values_.record_bytes() + values_.arena_bytes(); }

 private:
  struct cell {
    uint32_t value, next;
    int64_t count;
  };
  static constexpr uint32_t kEnd = UINT32_MAX;

  uint32_t add_value(std::string_view value, uint64_t h);
  void relayout(uint32_t width, uint32_t bytes);
  int64_t get(size_t i) const;
  void put(size_t i, int64_t n);
  void make_sparse();
  uint32_t new_cell(uint32_t value, int64_t count, uint32_t next);

  struct short_value {
    uint32_t length, id;
    char bytes[16];
  };
  static constexpr size_t kShortValues = 4;

  key_table values_;  // id + 1 = value id
  std::vector<uint32_t> by_bytes_;  // dense: the value ids in byte order of the values
  std::vector<short_value> short_values_;  // the first kShortValues values, if up to 16 bytes
  size_t rows_ = 0;
  uint32_t width_ = 1;  // dense row width: a power of two
  uint32_t bytes_ = 2;  // dense counter size: 2, 4 or 8
  bool sparse_ = false;
  std::vector<unsigned char> dense_;  // rows_ * width_ counters of bytes_ each
  std::vector<uint32_t> heads_;   // sparse: each row's first cell
  std::vector<cell> cells_;       // sparse: cells, free ones chained from free_cell_
  uint32_t free_cell_ = kEnd;
};

}  // namespace kappa
