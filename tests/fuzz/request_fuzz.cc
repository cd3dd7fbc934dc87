// libFuzzer entry point for src/wire: any bytes, taken as one request frame
// (size prefix stripped) and also as a stream of frames, must decode or be
// refused without crashing, reading out of bounds or allocating from a length.
// A request that decodes must re-encode to bytes that decode to themselves
// (decode_frame.h).
// Build and run: tests/fuzz/build.sh (clang only), which starts from the seed
// corpus of real clients' requests in tests/fuzz/corpus/. meson builds this
// file into tests/fuzz/corpus_replay too, which replays that corpus (and
// mutants of it) in the normal test suite.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "decode_frame.h"
#include "wire/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)kappa_fuzz::decode_frame(bytes);
  kappa::wire::frame_reassembler fr(1 << 20);
  // Odd chunks, so prefixes and frames straddle feeds.
  for (size_t at = 0; at < bytes.size(); at += 7) {
    if (!fr.feed(bytes.substr(at, 7)).ok()) break;
  }
  while (std::optional<std::string> f = fr.next()) (void)kappa_fuzz::decode_frame(*f);
  return 0;
}
