#include "log/offset_index.h"

#include <algorithm>

#include "kappa/log/format.h"
#include "util/big_endian.h"

namespace kappa {

offset_index offset_index::decode(int64_t base, const std::string& bytes, uint64_t log_size, bool* consistent) {
  offset_index idx(base);
  *consistent = bytes.size() % format::kOffsetIndexEntrySize == 0;
  size_t n = bytes.size() / format::kOffsetIndexEntrySize;
  idx.entries_.reserve(n);
  for (size_t i = 0; i < n; i++) {
    const char* p = bytes.data() + i * format::kOffsetIndexEntrySize;
    int64_t off = base + be::load32(p);
    uint32_t pos = be::load32(p + format::kOffsetIndexRelOffsetSize);
    bool ordered = idx.entries_.empty() || (off > idx.entries_.back().offset && pos > idx.entries_.back().position);
    if (!ordered || pos >= log_size) {
      *consistent = false;
      break;
    }
    idx.entries_.push_back({off, pos});
  }
  return idx;
}

uint32_t offset_index::lookup(int64_t target) const {
  // The last entry with offset <= target (Kafka's lookup). Its batch ends at
  // or before target, so every record from target on is at or after it.
  auto it = std::upper_bound(entries_.begin(), entries_.end(), target,
                             [](int64_t t, const offset_index_entry& e) { return t < e.offset; });
  if (it == entries_.begin()) return 0;
  return std::prev(it)->position;
}

void offset_index::truncate_to_position(uint64_t position) {
  while (!entries_.empty() && entries_.back().position >= position) entries_.pop_back();
}

std::string offset_index::encode(size_t from) const {
  std::string out((entries_.size() - std::min(from, entries_.size())) * format::kOffsetIndexEntrySize, '\0');
  char* p = out.data();
  for (size_t i = from; i < entries_.size(); i++, p += format::kOffsetIndexEntrySize) {
    be::store32(p, static_cast<uint32_t>(entries_[i].offset - base_));
    be::store32(p + format::kOffsetIndexRelOffsetSize, entries_[i].position);
  }
  return out;
}

}  // namespace kappa
