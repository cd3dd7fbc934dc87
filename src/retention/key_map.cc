#include "retention/key_map.h"

#include <xxhash.h>

#include <algorithm>

namespace kappa {

static constexpr size_t kSlotBytes = 24;

key_map::key_map(size_t max_bytes) {
  max_slots_ = kMinSlots;
  while (max_slots_ * 2 * kSlotBytes <= max_bytes) max_slots_ *= 2;
  size_t initial = std::min(kInitialSlots, max_slots_);
  slots_.assign(initial, slot{0, 0, -1});
  mask_ = initial - 1;
}

size_t key_map::find(uint64_t lo, uint64_t hi) const {
  size_t i = lo & mask_;
  while (slots_[i].offset >= 0 && (slots_[i].lo != lo || slots_[i].hi != hi)) i = (i + 1) & mask_;
  return i;
}

bool key_map::grow() {
  if (slots_.size() >= max_slots_) return false;
  std::vector<slot> old(slots_.size() * 2, slot{0, 0, -1});
  old.swap(slots_);
  mask_ = slots_.size() - 1;
  for (const auto& s : old)
    if (s.offset >= 0) slots_[find(s.lo, s.hi)] = s;
  return true;
}

bool key_map::put(bytes_view key, int64_t offset) {
  if (key.is_null()) return true;  // a keyless record supersedes nothing
  XXH128_hash_t h = XXH3_128bits(key.data, key.is_null() ? 0 : static_cast<size_t>(key.size));
  size_t i = find(h.low64, h.high64);
  if (slots_[i].offset >= 0) {
    slots_[i].offset = offset;
    return true;
  }
  // Keep the load at most 3/4 while growing, 9/10 at the size limit.
  if ((size_ + 1) * 4 > slots_.size() * 3) {
    if (grow()) {
      i = find(h.low64, h.high64);
    } else if ((size_ + 1) * 10 > slots_.size() * 9) {
      return false;
    }
  }
  slots_[i] = slot{h.low64, h.high64, offset};
  size_++;
  return true;
}

int64_t key_map::get(bytes_view key) const {
  if (key.is_null()) return -1;
  XXH128_hash_t h = XXH3_128bits(key.data, key.is_null() ? 0 : static_cast<size_t>(key.size));
  return slots_[find(h.low64, h.high64)].offset;
}

}  // namespace kappa
