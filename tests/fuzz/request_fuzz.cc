// libFuzzer entry point for src/wire: any bytes, taken as one request frame
// (size prefix stripped) and also as a stream of frames, must decode or be
// refused without crashing, reading out of bounds or allocating from a length.
// A request that decodes must re-encode to bytes that decode to themselves.
// Build and run: tests/fuzz/build.sh (clang only; not part of the meson build).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "wire/codec.h"

using namespace kappa::wire;

namespace {

void decode_frame(std::string_view frame) {
  kappa::Result<request_frame> rf = parse_request_header(frame);
  if (!rf.ok()) return;
  kappa::Result<any_request> req = decode_request(rf->header, rf->body);
  if (!req.ok()) return;
  // Re-encoding is stable: the body may differ from the input (a bool byte
  // of 2, a non-minimal varint, skipped tagged fields), but encode(decode(x))
  // decodes and encodes to itself.
  const int16_t v = rf->header.api_version;
  std::string once, twice;
  std::visit([&](const auto& m) {
    using M = std::decay_t<decltype(m)>;
    if (!encode(m, v, once).ok()) std::abort();
    kappa::Result<M> back = decode<M>(once, v);
    if (!back.ok() || !encode(back.value(), v, twice).ok()) std::abort();
  }, req.value());
  if (once != twice) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  decode_frame(bytes);
  frame_reassembler fr(1 << 20);
  // Odd chunks, so prefixes and frames straddle feeds.
  for (size_t at = 0; at < bytes.size(); at += 7) {
    if (!fr.feed(bytes.substr(at, 7)).ok()) break;
  }
  while (std::optional<std::string> f = fr.next()) decode_frame(*f);
  return 0;
}
