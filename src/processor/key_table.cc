#include "processor/key_table.h"

#include <cstdlib>
#include <cstring>

namespace kappa {

void key_table::place(uint32_t tag, uint32_t id) {
  size_t i = tag & mask_;
  while (slots_[i] != 0) i = (i + 1) & mask_;
  slots_[i] = static_cast<uint64_t>(tag) << 32 | (static_cast<uint64_t>(id) + 1);
}

void key_table::grow() {
  std::vector<uint64_t> old;
  old.swap(slots_);
  size_t cap = old.empty() ? 64 : old.size() * 2;
  slots_.assign(cap, 0);
  mask_ = cap - 1;
  for (uint64_t s : old)
    if (s != 0) place(static_cast<uint32_t>(s >> 32), static_cast<uint32_t>(s) - 1);
}

uint32_t key_table::insert(std::string_view key, uint64_t h) {
  if ((live_ + 1) * 8 > slots_.size() * 7) grow();
  if (key.size() >= kFree) std::abort();  // a 4 GiB key
  uint32_t id;
  if (free_id_ != kNone) {
    id = free_id_;
    free_id_ = static_cast<uint32_t>(records_[id].at);
  } else {
    if (records_.size() >= kFree - 1) std::abort();  // 4 billion keys
    id = static_cast<uint32_t>(records_.size());
    records_.emplace_back();
  }
  record& r = records_[id];
  r.length = static_cast<uint32_t>(key.size());
  r.value = 0;
  r.at = 0;
  if (key.size() <= kInline) {
    std::memcpy(&r.at, key.data(), key.size());
  } else {
    r.at = arena_.size();
    arena_.insert(arena_.end(), key.begin(), key.end());
  }
  place(static_cast<uint32_t>(h >> 32), id);
  live_++;
  return id;
}

void key_table::erase(uint32_t id) {
  uint32_t tag = static_cast<uint32_t>(hash(key(id)) >> 32);
  size_t i = tag & mask_;
  while (static_cast<uint32_t>(slots_[i]) != id + 1) i = (i + 1) & mask_;
  // Backward-shift deletion: pull later entries of the probe run into the
  // hole, so no tombstones pile up.
  for (size_t j = i;;) {
    j = (j + 1) & mask_;
    if (slots_[j] == 0) break;
    size_t home = static_cast<uint32_t>(slots_[j] >> 32) & mask_;
    // The entry at j stays if its home lies cyclically in (i, j].
    bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = 0;
  if (records_[id].length > kInline) garbage_ += records_[id].length;
  records_[id] = record{kFree, 0, free_id_};
  free_id_ = id;
  live_--;
  if (garbage_ > 4096 && garbage_ * 2 > arena_.size()) compact_arena();
}

void key_table::compact_arena() {
  std::vector<char> fresh;
  fresh.reserve(arena_.size() - garbage_ + arena_.size() / 4);
  for (auto& r : records_) {
    if (r.length == kFree || r.length <= kInline) continue;
    size_t at = fresh.size();
    auto from = arena_.begin() + static_cast<ptrdiff_t>(r.at);
    fresh.insert(fresh.end(), from, from + r.length);
    r.at = at;
  }
  arena_.swap(fresh);
  garbage_ = 0;
}

}  // namespace kappa
