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
  if (!sparse_ && id >= width_) {
    if (width_ * 2 <= kMaxDense)
      relayout(width_ * 2);
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
  } else if (wide_) {
    wide_rows_.reserve(n * width_);
    wide_rows_.resize(n * width_, 0);
  } else {
    narrow_.reserve(n * width_);
    narrow_.resize(n * width_, 0);
  }
}

void count_table::relayout(uint32_t width) {
  if (wide_) {
    std::vector<int64_t> fresh(rows_ * width, 0);
    for (size_t r = 0; r < rows_; r++)
      for (uint32_t v = 0; v < width_; v++) fresh[r * width + v] = wide_rows_[r * width_ + v];
    wide_rows_.swap(fresh);
  } else {
    std::vector<uint32_t> fresh(rows_ * width, 0);
    for (size_t r = 0; r < rows_; r++)
      for (uint32_t v = 0; v < width_; v++) fresh[r * width + v] = narrow_[r * width_ + v];
    narrow_.swap(fresh);
  }
  width_ = width;
}

void count_table::widen() {
  wide_rows_.assign(narrow_.begin(), narrow_.end());
  std::vector<uint32_t>().swap(narrow_);
  wide_ = true;
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
      int64_t n = wide_ ? wide_rows_[r * width_ + v] : narrow_[r * width_ + v];
      if (n != 0) heads_[r] = new_cell(v, n, heads_[r]);
    }
  std::vector<uint32_t>().swap(narrow_);
  std::vector<int64_t>().swap(wide_rows_);
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
  if (!wide_) {
    uint64_t sum = static_cast<uint64_t>(narrow_[i]) + static_cast<uint64_t>(n);
    if (sum <= UINT32_MAX) {
      narrow_[i] = static_cast<uint32_t>(sum);
      return;
    }
    widen();
  }
  wide_rows_[i] += n;
}

void count_table::merge(uint32_t dst, uint32_t src) {
  if (sparse_) {
    for (uint32_t c = heads_[src]; c != kEnd; c = cells_[c].next) add(dst, cells_[c].value, cells_[c].count);
    clear(src);
    return;
  }
  for (uint32_t v = 0; v < width_; v++) {
    size_t s = static_cast<size_t>(src) * width_ + v;
    int64_t n = wide_ ? wide_rows_[s] : narrow_[s];
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
  } else if (wide_) {
    std::fill_n(wide_rows_.begin() + static_cast<std::ptrdiff_t>(row) * width_, width_, 0);
  } else {
    std::fill_n(narrow_.begin() + static_cast<std::ptrdiff_t>(row) * width_, width_, 0);
  }
}

int64_t count_table::total(uint32_t row) const {
  int64_t n = 0;
  if (sparse_) {
    for (uint32_t c = heads_[row]; c != kEnd; c = cells_[c].next) n += cells_[c].count;
  } else {
    for (uint32_t v = 0; v < width_; v++) {
      size_t i = static_cast<size_t>(row) * width_ + v;
      n += wide_ ? wide_rows_[i] : narrow_[i];
    }
  }
  return n;
}

void count_table::entries(uint32_t row, std::vector<std::pair<uint32_t, int64_t>>* out) const {
  if (sparse_) {
    for (uint32_t c = heads_[row]; c != kEnd; c = cells_[c].next)
      if (cells_[c].value != kNoValue && cells_[c].count != 0) out->emplace_back(cells_[c].value, cells_[c].count);
    return;
  }
  for (uint32_t v = 1; v < width_; v++) {
    size_t i = static_cast<size_t>(row) * width_ + v;
    int64_t n = wide_ ? wide_rows_[i] : narrow_[i];
    if (n != 0) out->emplace_back(v, n);
  }
}

size_t count_table::row_bytes() const {
  return narrow_.capacity() * sizeof(uint32_t) + wide_rows_.capacity() * sizeof(int64_t) +
         heads_.capacity() * sizeof(uint32_t) + cells_.capacity() * sizeof(cell);
}

}  // namespace kappa
