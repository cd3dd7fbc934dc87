#include "processor/count_table.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace kappa {

uint32_t count_table::add_value(std::string_view value, uint64_t h) {
  uint32_t id = values_.insert(value, h) + 1;
  if (id <= kShortValues && value.size() <= sizeof(short_value::bytes)) {
    short_value s{static_cast<uint32_t>(value.size()), id, {}};
    std::memcpy(s.bytes, value.data(), value.size());
    short_values_.push_back(s);
  }
  if (!sparse_) {
    auto at = std::lower_bound(by_bytes_.begin(), by_bytes_.end(), value,
                               [&](uint32_t v, std::string_view x) { return this->value(v) < x; });
    by_bytes_.insert(at, id);
  }
  if (!sparse_ && id >= width_) {
    if (width_ * 2 <= kMaxDense)
      relayout(width_ * 2, bytes_);
    else
      make_sparse();
  }
  return id;
}

void count_table::resize(size_t n) {
  if (n <= rows_) return;
  rows_ = n;
  // Exactly n rows: the caller grows n geometrically (and std::vector's
  // own doubling would hold up to twice that).
  if (sparse_) {
    heads_.reserve(n);
    heads_.resize(n, kEnd);
  } else {
    dense_.reserve(n * width_ * bytes_);
    dense_.resize(n * width_ * bytes_, 0);
  }
}

int64_t count_table::get(size_t i) const {
  const unsigned char* p = dense_.data() + i * bytes_;
  if (bytes_ == 2) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  if (bytes_ == 4) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// REQUIRES: n fits a counter of bytes_.
void count_table::put(size_t i, int64_t n) {
  unsigned char* p = dense_.data() + i * bytes_;
  if (bytes_ == 2) {
    uint16_t v = static_cast<uint16_t>(n);
    std::memcpy(p, &v, 2);
  } else if (bytes_ == 4) {
    uint32_t v = static_cast<uint32_t>(n);
    std::memcpy(p, &v, 4);
  } else {
    std::memcpy(p, &n, 8);
  }
}

// Lays the dense rows out afresh: wider rows (a new value) or wider
// counters (one would overflow).
void count_table::relayout(uint32_t width, uint32_t bytes) {
  std::vector<unsigned char> fresh(rows_ * width * bytes, 0);
  std::swap(fresh, dense_);
  uint32_t old_width = width_, old_bytes = bytes_;
  width_ = width;
  bytes_ = bytes;
  for (size_t r = 0; r < rows_; r++)
    for (uint32_t v = 0; v < old_width; v++) {
      const unsigned char* p = fresh.data() + (r * old_width + v) * old_bytes;
      int64_t n;
      if (old_bytes == 2) {
        uint16_t x;
        std::memcpy(&x, p, 2);
        n = x;
      } else if (old_bytes == 4) {
        uint32_t x;
        std::memcpy(&x, p, 4);
        n = x;
      } else {
        std::memcpy(&n, p, 8);
      }
      if (n != 0) put(r * width + v, n);
    }
}

uint32_t count_table::new_cell(uint32_t value, int64_t count, uint32_t next) {
  uint32_t c;
  if (free_cell_ != kEnd) {
    c = free_cell_;
    free_cell_ = cells_[c].next;
  } else {
    if (cells_.size() >= kEnd) std::abort();  // 4 billion cells
    c = static_cast<uint32_t>(cells_.size());
    cells_.emplace_back();
  }
  cells_[c] = cell{value, next, count};
  return c;
}

void count_table::make_sparse() {
  heads_.assign(rows_, kEnd);
  for (size_t r = 0; r < rows_; r++)
    for (uint32_t v = 0; v < width_; v++) {
      int64_t n = get(r * width_ + v);
      if (n != 0) heads_[r] = new_cell(v, n, heads_[r]);
    }
  std::vector<unsigned char>().swap(dense_);
  std::vector<uint32_t>().swap(by_bytes_);
  sparse_ = true;
}

void count_table::add(uint32_t row, uint32_t v, int64_t n) {
  if (sparse_) {
    // Found values move to the front: a session's frequent values stay
    // near the head of its list.
    uint32_t* link = &heads_[row];
    for (uint32_t c = *link; c != kEnd; link = &cells_[c].next, c = *link) {
      if (cells_[c].value == v) {
        cells_[c].count += n;
        *link = cells_[c].next;
        cells_[c].next = heads_[row];
        heads_[row] = c;
        return;
      }
    }
    if (n != 0) heads_[row] = new_cell(v, n, heads_[row]);
    return;
  }
  size_t i = static_cast<size_t>(row) * width_ + v;
  int64_t sum = static_cast<int64_t>(static_cast<uint64_t>(get(i)) + static_cast<uint64_t>(n));
  while (bytes_ < 8 && static_cast<uint64_t>(sum) > (bytes_ == 2 ? UINT16_MAX : UINT32_MAX))
    relayout(width_, bytes_ * 2);
  put(i, sum);
}

void count_table::merge(uint32_t dst, uint32_t src) {
  if (sparse_) {
    for (uint32_t c = heads_[src]; c != kEnd; c = cells_[c].next) add(dst, cells_[c].value, cells_[c].count);
    clear(src);
    return;
  }
  for (uint32_t v = 0; v < width_; v++) {
    int64_t n = get(static_cast<size_t>(src) * width_ + v);
    if (n != 0) add(dst, v, n);  // may widen: index afresh each time
  }
  clear(src);
}

void count_table::clear(uint32_t row) {
  if (sparse_) {
    uint32_t c = heads_[row];
    while (c != kEnd) {
      uint32_t next = cells_[c].next;
      cells_[c].next = free_cell_;
      free_cell_ = c;
      c = next;
    }
    heads_[row] = kEnd;
  } else {
    std::memset(dense_.data() + static_cast<size_t>(row) * width_ * bytes_, 0, width_ * bytes_);
  }
}

int64_t count_table::total(uint32_t row) const {
  int64_t n = 0;
  if (sparse_) {
    for (uint32_t c = heads_[row]; c != kEnd; c = cells_[c].next) n += cells_[c].count;
  } else {
    for (uint32_t v = 0; v < width_; v++) n += get(static_cast<size_t>(row) * width_ + v);
  }
  return n;
}

void count_table::entries(uint32_t row, std::vector<std::pair<uint32_t, int64_t>>* out) const {
  if (sparse_) {
    size_t begin = out->size();
    for (uint32_t c = heads_[row]; c != kEnd; c = cells_[c].next)
      if (cells_[c].value != kNoValue && cells_[c].count != 0) out->emplace_back(cells_[c].value, cells_[c].count);
    std::sort(out->begin() + static_cast<std::ptrdiff_t>(begin), out->end(),
              [&](const auto& a, const auto& b) { return value(a.first) < value(b.first); });
    return;
  }
  for (uint32_t v : by_bytes_) {
    int64_t n = get(static_cast<size_t>(row) * width_ + v);
    if (n != 0) out->emplace_back(v, n);
  }
}

size_t count_table::row_bytes() const {
  return dense_.capacity() + heads_.capacity() * sizeof(uint32_t) + cells_.capacity() * sizeof(cell);
}

}  // namespace kappa
