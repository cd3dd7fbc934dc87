#include "processor/key_table.h"

// XXH3 inlined into hash(): keys are short, so a call would cost as much
// as the hashing.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace kappa {

uint64_t key_table::hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

// Where a slot's probe starts: a long key's hash is in the slot; a short
// key is hashed again (growing and erasing are rare).
size_t key_table::home(const slot& s) const {
  if (s.id_len >> kIdBits == kLong) return s.word & mask_;
  return hash(std::string_view(reinterpret_cast<const char*>(&s.word), s.id_len >> kIdBits)) & mask_;
}

void key_table::place(const slot& s) {
  size_t i = home(s);
  while (slots_[i].id_len != 0) i = (i + 1) & mask_;
  slots_[i] = s;
  records_[(s.id_len & kIdMask) - 1].slot = static_cast<uint32_t>(i);
}

void key_table::grow() {
  std::vector<slot> old;
  old.swap(slots_);
  size_t cap = old.empty() ? 64 : old.size() * 2;
  if (cap > (size_t{1} << 31)) std::abort();  // slot numbers stay below 2^31
  slots_.assign(cap, slot{0, 0, 0});
  mask_ = cap - 1;
  layout_++;
  for (const slot& s : old)
    if (s.id_len != 0) place(s);
}

uint32_t key_table::insert(std::string_view key, uint64_t h) {
  if ((live_ + 1) * 8 > slots_.size() * 7) grow();
  if (key.size() >= kFree) std::abort();  // a 4 GiB key
  uint32_t id;
  if (free_id_ != kNone) {
    id = free_id_;
    free_id_ = records_[id].slot;
  } else {
    if (records_.size() >= kIdMask - 1) std::abort();  // 2^28 keys: ids are 28-bit in a slot
    id = static_cast<uint32_t>(records_.size());
    // By a quarter, not doubling: memory.
    if (records_.size() == records_.capacity()) records_.reserve(records_.capacity() + records_.capacity() / 4 + 16);
    records_.emplace_back();
  }
  records_[id] = record{0, static_cast<uint32_t>(key.size())};
  bool short_key = key.size() <= kInline;
  if (!short_key) {
    if (long_at_.size() <= id) long_at_.resize(records_.capacity());
    long_at_[id] = arena_.size();
    arena_.insert(arena_.end(), key.begin(), key.end());
  }
  place(slot{short_key ? pack(key.data(), key.size()) : h,
             (id + 1) | (short_key ? static_cast<uint32_t>(key.size()) : kLong) << kIdBits, 0});
  live_++;
  return id;
}

void key_table::erase(uint32_t id) {
  moves_.clear();
  size_t i = records_[id].slot;
  // Backward-shift deletion: pull later entries of the probe run into the
  // hole, so no tombstones pile up.
  for (size_t j = i;;) {
    j = (j + 1) & mask_;
    if (slots_[j].id_len == 0) break;
    size_t home = this->home(slots_[j]);
    // The entry at j stays if its home lies cyclically in (i, j].
    bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    records_[(slots_[i].id_len & kIdMask) - 1].slot = static_cast<uint32_t>(i);
    moves_.emplace_back(static_cast<uint32_t>(j), static_cast<uint32_t>(i));
    i = j;
  }
  slots_[i] = slot{0, 0, 0};
  if (records_[id].length > kInline) garbage_ += records_[id].length;
  records_[id] = record{free_id_, kFree};
  free_id_ = id;
  live_--;
  if (garbage_ > 4096 && garbage_ * 2 > arena_.size()) compact_arena();
}

void key_table::compact_arena() {
  std::vector<char> fresh;
  fresh.reserve(arena_.size() - garbage_ + arena_.size() / 4);
  for (uint32_t id = 0; id < records_.size(); id++) {
    const record& r = records_[id];
    if (r.length == kFree || r.length <= kInline) continue;
    size_t at = fresh.size();
    auto from = arena_.begin() + static_cast<std::ptrdiff_t>(long_at_[id]);
    fresh.insert(fresh.end(), from, from + r.length);
    long_at_[id] = at;
  }
  arena_.swap(fresh);
  garbage_ = 0;
}

}  // namespace kappa
