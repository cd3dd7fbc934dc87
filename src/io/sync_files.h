// Making many files durable at once.
//
// A writer of many partitions (a keyed produce over 1,000 of them) would
// otherwise pay one fdatasync after another, each a device flush. Issued
// together, the file system folds them into a few journal commits and the
// device flushes about once for all of them.
#pragma once

#include <span>
#include <vector>

#include "kappa/status.h"

namespace kappa {

// fdatasync of every fd in `fds`, all in flight at once: through one
// io_uring when the backend in use is io_uring (make_io_backend's choice),
// else on a few threads side by side. On return (*errs)[i] is 0 or the
// errno of fds[i]'s fdatasync. An error of the mechanism itself (no ring,
// no thread) is not returned: those files are synced one by one instead.
void sync_files(std::span<const int> fds, std::vector<int>* errs);

}  // namespace kappa
