#include "adapters/progress.h"

#include <unistd.h>

#include <cstdio>

namespace kappa {

progress::progress() : enabled_(::isatty(2)), start_(std::chrono::steady_clock::now()), last_(start_) {}

void progress::show(uint64_t records, uint64_t bytes) {
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(500)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  if (bytes > 0)
    std::fprintf(stderr, "\r\033[K%llu records, %.1f MB, %.0f records/s", static_cast<unsigned long long>(records),
                 static_cast<double>(bytes) / 1e6, secs > 0 ? static_cast<double>(records) / secs : 0.0);
  else
    std::fprintf(stderr, "\r\033[K%llu records, %.0f records/s", static_cast<unsigned long long>(records),
                 secs > 0 ? static_cast<double>(records) / secs : 0.0);
  shown_ = true;
}

void progress::done() {
  if (shown_) std::fprintf(stderr, "\r\033[K");
  shown_ = false;
}

}  // namespace kappa
