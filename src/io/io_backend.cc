#include "io/io_backend.h"

#include <cstdlib>
#include <cstring>

namespace kappa {

std::unique_ptr<io_backend> make_io_backend(io_kind kind) {
  if (kind == io_kind::automatic) {
    const char* env = std::getenv("KAPPA_IO");
    kind = (env && std::strcmp(env, "posix") == 0) ? io_kind::posix : io_kind::uring;
  }
  if (kind == io_kind::uring) {
    if (auto b = make_uring_backend()) return b;
  }
  return make_posix_backend();
}

const char* probe_io_backend_name() {
  static const std::string name = make_io_backend()->name();
  return name.c_str();
}

}  // namespace kappa
