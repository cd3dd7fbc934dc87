// The window state of one input partition as checkpoint blobs. A blob is a
// list of per-key entries (the key's encoding from session_windows, or an
// erasure) closed by a checksum; a partition's state is a chain of blobs,
// a full snapshot and then the deltas of later checkpoints, in which the
// last entry of a key wins.
//
//   entry := varint key_length, key, varint encoding_length (-1: erased), encoding
//   blob  := entry*, XXH3-64 of the entries (8 bytes, big-endian)
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kappa/status.h"

namespace kappa {

class state_blob_writer {
 public:
  void put(std::string_view key, std::string_view encoded);
  void erase(std::string_view key);
  // The blob, valid until clear(): empty if nothing was put or erased,
  // unless `always` (a full snapshot of no windows is a checksum alone).
  std::string_view finish(bool always = false);
  void clear() { buf_.clear(); }

 private:
  std::string buf_;
};

// Folds a chain of blobs, oldest first, into each key's latest encoding
// (keys whose last entry is an erasure are left out). Corruption, naming
// `what` and the blob's place in the chain, if a blob fails its checksum
// or does not parse. The views point into the blobs.
class state_chain {
 public:
  Status add(std::string_view blob, const std::string& what);
  // Every key with windows and its encoding.
  const std::unordered_map<std::string_view, std::string_view>& latest() const { return latest_; }

 private:
  std::unordered_map<std::string_view, std::string_view> latest_;
  size_t blobs_ = 0;
};

}  // namespace kappa
