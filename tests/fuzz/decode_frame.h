// The decode path the request fuzzer (request_fuzz.cc) and the corpus replay
// (corpus_replay.cc) share: one request frame, size prefix stripped, through
// the same calls kappa serve makes (parse_request_header, decode_request).
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "wire/codec.h"

namespace kappa_fuzz {

// Decodes `frame`; returns the header's or the body's error, or OK. A request
// that decodes must re-encode stably: the body may differ from the input (a
// bool byte of 2, a non-minimal varint, skipped tagged fields), but
// encode(decode(x)) decodes and encodes to itself; otherwise this aborts.
inline kappa::Status decode_frame(std::string_view frame) {
  using namespace kappa::wire;
  kappa::Result<request_frame> rf = parse_request_header(frame);
  if (!rf.ok()) return rf.status();
  kappa::Result<any_request> req = decode_request(rf->header, rf->body);
  if (!req.ok()) return req.status();
  const int16_t v = rf->header.api_version;
  std::string once, twice;
  std::visit([&](const auto& m) {
    using M = std::decay_t<decltype(m)>;
    if (!encode(m, v, once).ok()) std::abort();
    kappa::Result<M> back = decode<M>(once, v);
    if (!back.ok() || !encode(back.value(), v, twice).ok()) std::abort();
  }, req.value());
  if (once != twice) std::abort();
  return kappa::Status::OK();
}

}  // namespace kappa_fuzz
