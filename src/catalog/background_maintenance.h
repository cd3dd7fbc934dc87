// The data dir's maintenance thread: what a writer's segment roll or the
// disk budget calls for (retention, compaction, removing the oldest
// segments) runs here, off the writer's thread, so producing never waits
// for it. The data dir drains and stops it when it closes, so a `produce`
// that exits has applied retention to everything it rolled.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "kappa/log.h"

namespace kappa {

class data_dir;

class background_maintenance : public std::enable_shared_from_this<background_maintenance> {
 public:
  explicit background_maintenance(data_dir* dd);
  ~background_maintenance();

  // An observer for one partition's appender.
  std::shared_ptr<segment_observer> observer_for(const std::string& dir, const std::string& name,
                                                 const partition_options& options);
  // Runs what is queued, then stops; later requests are ignored.
  void shutdown();

 private:
  class observer;
  void schedule(const std::string& key, std::function<void()> task);
  void run();
  // Applies the budget; true if the partition in `dir` should roll.
  bool check_budget(const std::string& dir = "");
  // A writer wrote `bytes` to the partition in `dir`, whose active segment
  // is now active_bytes long: past a share of the budget, the budget is
  // checked right away, on the writer's thread. True: roll now.
  bool wrote(const std::string& dir, bool deletable, uint64_t bytes, uint64_t active_bytes);
  // A writer opened the partition in `dir`. True: roll at the first batch.
  bool opened(const std::string& dir, uint64_t active_bytes);

  std::mutex mu_;
  std::condition_variable cv_;
  data_dir* dd_;  // null once shut down
  std::deque<std::pair<std::string, std::function<void()>>> queue_;
  std::set<std::string> queued_;  // keys of queued tasks: no duplicates
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> roll_flags_;  // by partition dir
  std::thread thread_;
  bool stopping_ = false;
  std::mutex budget_mu_;  // one budget pass at a time
  // The disk budget, re-read at each check.
  std::atomic<int64_t> max_bytes_{-1};
  std::atomic<uint64_t> written_since_check_{0};
};

}  // namespace kappa
