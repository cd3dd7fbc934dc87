// Interned byte strings: each distinct key gets a small integer id and a
// slot, so that an event of a key already present costs one hash and one
// probe, with no allocation and no copy.
//
// Open addressing with linear probing, at most 7/8 full, over 16-byte
// slots that hold a 32-bit value for the caller (its per-key state) and,
// for a key of up to 8 bytes, the key itself: finding such a key reads
// one slot and nothing else. A longer key's slot holds its 64-bit hash,
// and its bytes are compared in an arena. Ids are dense and reused after
// erase(); each has an 8-byte record (slot, length). Slots move when the
// table grows (layout() counts those times) or when a key is erased
// (moves() lists them), ids never do. Lookups take a string_view, so a
// key is never copied to be looked up.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "util/prefetch.h"

namespace kappa {

class key_table {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // The hash that find() and insert() take (so one hash serves both):
  // XXH3-64, inlined.
  static uint64_t hash(std::string_view key);

  // The id of key, or kNone; *slot_out = its slot (valid until the next
  // insert() or erase()). h = hash(key). Calls hint(the value) as soon as
  // the key's slot is likely found (before a long key's bytes are
  // compared): a chance to start loading what the caller needs next.
  template <class Hint>
  uint32_t find(std::string_view key, uint64_t h, Hint&& hint, uint32_t* slot_out = nullptr) const {
    if (slots_.empty()) return kNone;
    size_t n = key.size();
    uint64_t word = n <= kInline ? pack(key.data(), n) : h;
    uint32_t code = n <= kInline ? static_cast<uint32_t>(n) : kLong;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const slot& s = slots_[i];
      if (s.id_len == 0) return kNone;
      if (s.word == word && s.id_len >> kIdBits == code) {
        hint(s.value);
        uint32_t id = (s.id_len & kIdMask) - 1;
        if (code == kLong && !equal_long(id, key)) continue;
        if (slot_out) *slot_out = static_cast<uint32_t>(i);
        return id;
      }
    }
  }
  uint32_t find(std::string_view key, uint64_t h) const {
    return find(key, h, [](uint32_t) {});
  }
  // Starts loading the slot where find(_, h) begins (to overlap the cache
  // miss with other work).
  void prefetch(uint64_t h) const {
    if (!slots_.empty()) cache_prefetch(&slots_[h & mask_]);
  }
  // Whether a[0, n) == b[0, n). Up to 16 bytes without a call: two loads
  // from each side that overlap to cover the length; reads nothing outside.
  [[gnu::always_inline]] static bool same_bytes(const char* a, const char* b, size_t n) {
    if (n >= 8) {
      if (n > 16) return std::memcmp(a, b, n) == 0;
      return load<uint64_t>(a) == load<uint64_t>(b) && load<uint64_t>(a + n - 8) == load<uint64_t>(b + n - 8);
    }
    if (n >= 4) return load<uint32_t>(a) == load<uint32_t>(b) && load<uint32_t>(a + n - 4) == load<uint32_t>(b + n - 4);
    if (n == 0) return true;
    return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1];
  }

  // Starts loading a slot.
  void prefetch_at(uint32_t slot) const { cache_prefetch(&slots_[slot]); }

  // Adds key and returns its new id. REQUIRES: key is not present;
  // h = hash(key). May grow the table, which moves every slot.
  uint32_t insert(std::string_view key, uint64_t h);
  // Removes the key with this id; the id may be handed out again. Slots
  // that moved to fill the gap are listed by moves() until the next erase.
  void erase(uint32_t id);
  // How many times the table has grown (each time, every slot moved).
  uint64_t layout() const { return layout_; }
  // (from, to) slot moves of the last erase().
  const std::vector<std::pair<uint32_t, uint32_t>>& moves() const { return moves_; }

  // The key's bytes: valid until the next insert() or erase().
  std::string_view key(uint32_t id) const { return key_at(records_[id].slot); }
  std::string_view key_at(uint32_t slot) const {
    const struct slot& s = slots_[slot];
    uint32_t code = s.id_len >> kIdBits;
    if (code != kLong) return std::string_view(reinterpret_cast<const char*>(&s.word), code);
    uint32_t id = (s.id_len & kIdMask) - 1;
    return std::string_view(arena_.data() + long_at_[id], records_[id].length);
  }
  uint32_t id_at(uint32_t slot) const { return (slots_[slot].id_len & kIdMask) - 1; }
  uint32_t slot_of(uint32_t id) const { return records_[id].slot; }
  // The caller's value for the key (0 when inserted), by id or by slot.
  uint32_t& value(uint32_t id) { return slots_[records_[id].slot].value; }
  uint32_t value(uint32_t id) const { return slots_[records_[id].slot].value; }
  uint32_t& value_at(uint32_t slot) { return slots_[slot].value; }
  uint32_t value_at(uint32_t slot) const { return slots_[slot].value; }
  // Calls fn(slot, value) for every key.
  template <class Fn>
  void for_each_slot(Fn&& fn) const {
    for (size_t i = 0; i < slots_.size(); i++)
      if (slots_[i].id_len != 0) fn(static_cast<uint32_t>(i), slots_[i].value);
  }

  size_t size() const { return live_; }
  // One more than the largest id handed out so far: arrays indexed by id
  // need this many entries.
  size_t id_limit() const { return records_.size(); }
  // Whether id (< id_limit()) names a key now, rather than a freed id.
  bool live(uint32_t id) const { return records_[id].length != kFree; }

  // Bytes held, by capacity: the hash slots; the records (with the arena
  // offsets of long keys); the bytes of keys longer than 8 (shorter ones
  // are in their slot).
  size_t slot_bytes() const { return slots_.capacity() * sizeof(slot); }
  size_t record_bytes() const {
    return records_.capacity() * sizeof(record) + long_at_.capacity() * sizeof(uint64_t) +
           moves_.capacity() * sizeof(moves_[0]);
  }
  size_t arena_bytes() const { return arena_.capacity(); }

 private:
  struct slot {
    uint64_t word;    // a short key's bytes; a long key's hash
    uint32_t id_len;  // id + 1 | length code << kIdBits; 0: an empty slot
    uint32_t value;
  };
  static_assert(sizeof(slot) == 16);
  static constexpr int kIdBits = 28;
  static constexpr uint32_t kIdMask = (1u << kIdBits) - 1;
  static constexpr uint32_t kLong = 15;  // length code of a key longer than kInline
  struct record {
    uint32_t slot;    // a free id: the next free id
    uint32_t length;  // kFree: a free id
  };
  static constexpr uint32_t kFree = UINT32_MAX;
  static constexpr uint32_t kInline = 8;

  bool equal_long(uint32_t id, std::string_view key) const {
    return records_[id].length == key.size() && same_bytes(arena_.data() + long_at_[id], key.data(), key.size());
  }
  // A key of n <= 8 bytes as a word: its bytes, in memory order, zero
  // padded (so a slot's word is also the key's text).
  static uint64_t pack(const char* p, size_t n) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n >= 4) return load<uint32_t>(p) | static_cast<uint64_t>(load<uint32_t>(p + n - 4)) << (8 * (n - 4));
    uint64_t w = 0;
    if (n >= 1) w = static_cast<unsigned char>(p[0]);
    if (n >= 2) w |= static_cast<uint64_t>(static_cast<unsigned char>(p[1])) << 8;
    if (n == 3) w |= static_cast<uint64_t>(static_cast<unsigned char>(p[2])) << 16;
    return w;
#else
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    return w;
#endif
  }
  size_t home(const slot& s) const;
  template <class T>
  static T load(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  void grow();
  void place(const slot& s);
  void compact_arena();

  std::vector<slot> slots_;
  size_t mask_ = 0;
  uint64_t layout_ = 0;
  std::vector<record> records_;
  std::vector<uint64_t> long_at_;  // per id: a long key's offset in arena_
  uint32_t free_id_ = kNone;
  std::vector<char> arena_;
  size_t live_ = 0, garbage_ = 0;  // keys; arena bytes of erased keys
  std::vector<std::pair<uint32_t, uint32_t>> moves_;
};

}  // namespace kappa
