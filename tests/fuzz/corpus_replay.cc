// Replays the fuzz seed corpus (tests/fuzz/corpus/, real clients' requests
// recorded by capture_corpus.py) in the normal test suite, without libFuzzer:
//
//   corpus_replay DIR [MIN_FILES]
//
// Every file is a request a real client sent kappa serve, so it must decode
// (decode_frame.h: the header, the body, a stable re-encode), and two copies
// of it behind size prefixes, fed in odd pieces, must come out of the frame
// reassembler as two frames that decode. Then each file's prefixes and
// bit-flipped / byte-overwritten variants go through the fuzz target itself
// (request_fuzz.cc's LLVMFuzzerTestOneInput): they may be refused but must
// not crash, which the sanitizer build checks for out-of-bounds reads too.
// Fails when DIR holds fewer than MIN_FILES files (default 1).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decode_frame.h"
#include "wire/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// Mutant positions per file: every byte of a small frame, evenly spread over
// a larger one, so the run stays a few seconds under the sanitizers.
constexpr size_t kMaxPositions = 2048;

void run(std::string_view bytes) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::string with_prefix(std::string_view frame) {
  std::string out;
  size_t at = kappa::wire::begin_frame(out);
  out.append(frame);
  kappa::wire::end_frame(out, at);
  return out;
}

// Returns the number of mutants run.
size_t mutate(const std::string& frame) {
  size_t n = 0;
  const size_t stride = std::max<size_t>(1, frame.size() / kMaxPositions);
  for (size_t len = 0; len < frame.size(); len += stride, n++) run(std::string_view(frame).substr(0, len));
  std::string m = frame;
  for (size_t i = 0; i < m.size(); i += stride) {
    const char orig = m[i];
    for (char c : {static_cast<char>(orig ^ (1 << (i % 8))), static_cast<char>(orig ^ 0x80), '\xff', '\0'}) {
      if (c == orig) continue;
      m[i] = c;
      run(m);
      n++;
    }
    m[i] = orig;
  }
  // As a stream: the frame behind a size prefix, cut short at every stride.
  const std::string framed = with_prefix(frame);
  for (size_t len = 0; len < framed.size(); len += stride, n++) run(std::string_view(framed).substr(0, len));
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [MIN_FILES]\n", argv[0]);
    return 2;
  }
  const size_t min_files = argc == 3 ? std::strtoul(argv[2], nullptr, 10) : 1;
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(argv[1], ec)) {
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
  }
  if (ec) {
    std::fprintf(stderr, "corpus_replay: %s: %s\n", argv[1], ec.message().c_str());
    return 1;
  }
  std::sort(files.begin(), files.end());
  size_t failed = 0, mutants = 0, bytes = 0;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    const std::string frame((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes += frame.size();
    const std::string name = path.filename().string();
    kappa::Status st = kappa_fuzz::decode_frame(frame);
    if (!st.ok()) {
      std::fprintf(stderr, "FAIL %s (%zu bytes): a real client's request does not decode: %s\n", name.c_str(),
                   frame.size(), st.message().c_str());
      failed++;
    }
    // Two copies behind size prefixes, in odd pieces: two frames, each the file.
    const std::string stream = with_prefix(frame) + with_prefix(frame);
    kappa::wire::frame_reassembler fr;
    bool fed = true;
    for (size_t at = 0; at < stream.size() && fed; at += 5) fed = fr.feed(std::string_view(stream).substr(at, 5)).ok();
    int frames = 0;
    while (std::optional<std::string> f = fr.next()) {
      frames++;
      if (*f != frame || !kappa_fuzz::decode_frame(*f).ok()) frames = -100;
    }
    if (!fed || frames != 2) {
      std::fprintf(stderr, "FAIL %s: reassembled as a stream of two: fed=%d frames=%d\n", name.c_str(), fed, frames);
      failed++;
    }
    run(frame);
    mutants += mutate(frame);
  }
  std::printf("corpus_replay: %zu files (%zu bytes), %zu mutants, %zu failures\n", files.size(), bytes, mutants,
              failed);
  if (files.size() < min_files) {
    std::fprintf(stderr, "FAIL: %zu corpus files in %s, expected at least %zu\n", files.size(), argv[1], min_files);
    return 1;
  }
  return failed ? 1 : 0;
}
