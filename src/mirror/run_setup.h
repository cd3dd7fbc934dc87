// What both directions of a mirror start from (mirror::open builds it).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "kappa/catalog.h"
#include "kappa/data_dir.h"
#include "kappa/mirror.h"
#include "log/partition_lock.h"
#include "mirror/topic_filter.h"

namespace kappa::mirror_detail {

struct run_setup {
  data_dir* dd = nullptr;
  mirror_record m;
  topic_filter filter;
  bool follow = false;
  std::string label;  // "mirror edge"
  std::function<void(const std::string&)> note;
  partition_lock lock;  // the mirror's run lock, held while it runs
};

// New source topics are looked for this often while following (SPEC: within 10 s).
inline constexpr int64_t kTopicScanMs = 5000;
// Progress is committed at least this often while records are confirmed.
inline constexpr int64_t kCommitEveryMs = 1000;

std::unique_ptr<mirror> make_forwarder(run_setup s);  // --to (forwarder.cc)
std::unique_ptr<mirror> make_puller(run_setup s);     // --from (puller.cc)

}  // namespace kappa::mirror_detail
