#include "log/time_index.h"

#include <algorithm>

#include "kappa/log/format.h"
#include "util/big_endian.h"

namespace kappa {

time_index time_index::decode(int64_t base, const std::string& bytes, int64_t end_offset, bool* consistent) {
  time_index idx(base);
  *consistent = bytes.size() % format::kTimeIndexEntrySize == 0;
  size_t n = bytes.size() / format::kTimeIndexEntrySize;
  for (size_t i = 0; i < n; i++) {
    const char* p = bytes.data() + i * format::kTimeIndexEntrySize;
    int64_t ts = static_cast<int64_t>(be::load64(p));
    int64_t off = base + be::load32(p + format::kTimeIndexTimestampSize);
    // An all-zero entry is unused preallocated space in a Kafka-written file.
    if (ts == 0 && off == base && i > 0) break;
    bool ordered = idx.entries_.empty() || (ts >= idx.entries_.back().timestamp && off >= idx.entries_.back().offset);
    if (!ordered || off >= end_offset) {
      *consistent = false;
      break;
    }
    idx.entries_.push_back({ts, off});
  }
  return idx;
}

bool time_index::maybe_append(int64_t timestamp, int64_t offset) {
  if (!entries_.empty() && timestamp <= entries_.back().timestamp) return false;
  entries_.push_back({timestamp, offset});
  return true;
}

int64_t time_index::lookup(int64_t target) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), target,
                             [](const time_index_entry& e, int64_t t) { return e.timestamp < t; });
  if (it == entries_.begin()) return -1;
  return std::prev(it)->offset;
}

void time_index::truncate_to_offset(int64_t offset) {
  while (!entries_.empty() && entries_.back().offset >= offset) entries_.pop_back();
}

std::string time_index::encode(size_t from) const {
  std::string out((entries_.size() - std::min(from, entries_.size())) * format::kTimeIndexEntrySize, '\0');
  char* p = out.data();
  for (size_t i = from; i < entries_.size(); i++, p += format::kTimeIndexEntrySize) {
    be::store64(p, static_cast<uint64_t>(entries_[i].timestamp));
    be::store32(p + format::kTimeIndexTimestampSize, static_cast<uint32_t>(entries_[i].offset - base_));
  }
  return out;
}

}  // namespace kappa
