#include "processor/checkpoint_state.h"

#include <xxhash.h>

#include "util/big_endian.h"
#include "util/varint.h"

namespace kappa {

namespace {

void put_varint(std::string& out, int64_t v) {
  char b[10];
  out.append(b, static_cast<size_t>(varint::put(b, v) - b));
}

}  // namespace

void state_blob_writer::put(std::string_view key, std::string_view encoded) {
  put_varint(buf_, static_cast<int64_t>(key.size()));
  buf_ += key;
  put_varint(buf_, static_cast<int64_t>(encoded.size()));
  buf_ += encoded;
}

void state_blob_writer::erase(std::string_view key) {
  put_varint(buf_, static_cast<int64_t>(key.size()));
  buf_ += key;
  put_varint(buf_, -1);
}

std::string_view state_blob_writer::finish(bool always) {
  if (buf_.empty() && !always) return {};
  char sum[8];
  be::store64(sum, XXH3_64bits(buf_.data(), buf_.size()));
  buf_.append(sum, 8);
  return buf_;
}

Status state_chain::add(std::string_view blob, const std::string& what) {
  size_t n = ++blobs_;
  auto bad = [&](const char* why) {
    return Status::Corruption("checkpointed state of " + what + " is damaged (blob " + std::to_string(n) +
                              " of its chain: " + why + ")");
  };
  if (blob.size() < 8) return bad("too short");
  const char* p = blob.data();
  const char* end = p + blob.size() - 8;
  if (XXH3_64bits(p, static_cast<size_t>(end - p)) != be::load64(end)) return bad("checksum mismatch");
  while (p < end) {
    int64_t klen, elen;
    if (!(p = varint::get64(p, end, &klen)) || klen < 0 || klen > end - p) return bad("key length");
    std::string_view key(p, static_cast<size_t>(klen));
    p += klen;
    if (!(p = varint::get64(p, end, &elen)) || elen < -1 || elen > end - p) return bad("state length");
    if (elen < 0) {
      latest_.erase(key);
      continue;
    }
    latest_[key] = std::string_view(p, static_cast<size_t>(elen));
    p += elen;
  }
  return Status::OK();
}

}  // namespace kappa
