// Interned byte strings: each distinct key gets a small integer id, so that
// per-key state lives in plain arrays indexed by id and an event of a key
// already present costs one hash and one probe, with no allocation.
//
// Open addressing with linear probing over 8-byte slots (a 32-bit hash tag
// and the id), at most 7/8 full. Each id has a 16-byte record: the key's
// length, a 32-bit value for the caller (so that a lookup brings the
// caller's per-key state into cache with the key), and the key's bytes
// when they fit in 8, else their offset in one arena. Ids are dense and
// reused after erase(). Lookups take a string_view, so a key is never
// copied to be looked up.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace kappa {

class key_table {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // The hash that find() and insert() take (so one hash serves both).
  static uint64_t hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

  // The id of key, or kNone. h = hash(key).
  uint32_t find(std::string_view key, uint64_t h) const {
    if (slots_.empty()) return kNone;
    uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      uint64_t s = slots_[i];
      if (s == 0) return kNone;
      if (static_cast<uint32_t>(s >> 32) == tag) {
        uint32_t id = static_cast<uint32_t>(s) - 1;
        const record& r = records_[id];
        if (r.length == key.size() && std::memcmp(bytes(r), key.data(), key.size()) == 0) return id;
      }
    }
  }
  // Starts loading the slot where find(_, h) begins (to overlap the cache
  // miss with other work).
  void prefetch(uint64_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[static_cast<uint32_t>(h >> 32) & mask_]);
  }
  // Adds key and returns its new id. REQUIRES: key is not present;
  // h = hash(key).
  uint32_t insert(std::string_view key, uint64_t h);
  // Removes the key with this id; the id may be handed out again.
  void erase(uint32_t id);

  // The key's bytes: valid until the next insert() or erase().
  std::string_view key(uint32_t id) const {
    const record& r = records_[id];
    return std::string_view(bytes(r), r.length);
  }
  // The caller's value for the key (0 when inserted).
  uint32_t& value(uint32_t id) { return records_[id].value; }
  uint32_t value(uint32_t id) const { return records_[id].value; }
  size_t size() const { return live_; }
  // One more than the largest id handed out so far: arrays indexed by id
  // need this many entries.
  size_t id_limit() const { return records_.size(); }

  // Bytes held, by capacity: the slots and records, and the key bytes.
  size_t table_bytes() const { return slots_.capacity() * sizeof(uint64_t) + records_.capacity() * sizeof(record); }
  size_t arena_bytes() const { return arena_.capacity(); }

 private:
  struct record {
    uint32_t length;  // kFree: a free id, `at` holds the next free id
    uint32_t value;
    uint64_t at;  // the bytes if length <= 8, else their offset in arena_
  };
  static_assert(sizeof(record) == 16);
  static constexpr uint32_t kFree = UINT32_MAX;
  static constexpr uint32_t kInline = 8;

  const char* bytes(const record& r) const {
    return r.length <= kInline ? reinterpret_cast<const char*>(&r.at) : arena_.data() + r.at;
  }

  void grow();
  void place(uint32_t tag, uint32_t id);
  void compact_arena();

  std::vector<uint64_t> slots_;  // (tag << 32) | (id + 1); 0 = empty
  size_t mask_ = 0;
  std::vector<record> records_;
  uint32_t free_id_ = kNone;
  std::vector<char> arena_;
  size_t live_ = 0, garbage_ = 0;  // keys; arena bytes of erased keys
};

}  // namespace kappa
