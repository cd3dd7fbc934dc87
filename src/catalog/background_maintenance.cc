#include "catalog/background_maintenance.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "kappa/data_dir.h"
#include "kappa/retention.h"
#include "util/clock.h"

namespace kappa {

static void warn(const Status& st) { std::fprintf(stderr, "kappa: warning: %s\n", st.message().c_str()); }

class background_maintenance::observer : public segment_observer {
 public:
  observer(std::shared_ptr<background_maintenance> bg, std::string dir, std::string name, partition_options o,
           std::shared_ptr<std::atomic<bool>> roll)
      : bg_(std::move(bg)), dir_(std::move(dir)), name_(std::move(name)), o_(std::move(o)), roll_(std::move(roll)) {}

  void segment_rolled() override {
    background_maintenance* bg = bg_.get();
    std::string dir = dir_, name = name_;
    partition_options o = o_;
    bg->schedule("maintain " + dir_, [bg, dir, name, o] {
      auto r = maintain_partition(dir, name, o, wall_clock_ms());
      if (!r.ok()) warn(r.status());
      bg->check_budget();
    });
  }
  bool opened(uint64_t active_bytes) override { return bg_->opened(dir_, active_bytes); }
  bool wrote(uint64_t bytes, uint64_t active_bytes) override {
    bool roll = bg_->wrote(dir_, o_.cleanup_delete, bytes, active_bytes);
    return roll_->exchange(false) || roll;
  }

 private:
  std::shared_ptr<background_maintenance> bg_;
  std::string dir_, name_;
  partition_options o_;
  std::shared_ptr<std::atomic<bool>> roll_;
};

background_maintenance::background_maintenance(data_dir* dd) : dd_(dd) {
  auto v = dd->setting("max.bytes");
  if (v.ok()) max_bytes_ = std::stoll(v.value());
  thread_ = std::thread([this] { run(); });
}

background_maintenance::~background_maintenance() { shutdown(); }

std::shared_ptr<segment_observer> background_maintenance::observer_for(const std::string& dir,
                                                                      const std::string& name,
                                                                      const partition_options& options) {
  std::lock_guard<std::mutex> l(mu_);
  auto& flag = roll_flags_[dir];
  if (!flag) flag = std::make_shared<std::atomic<bool>>(false);
  partition_options o = options;
  o.observer = nullptr;
  return std::make_shared<observer>(shared_from_this(), dir, name, o, flag);
}

void background_maintenance::schedule(const std::string& key, std::function<void()> task) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_ || !queued_.insert(key).second) return;
  queue_.emplace_back(key, std::move(task));
  cv_.notify_one();
}

void background_maintenance::run() {
  for (;;) {
    std::pair<std::string, std::function<void()>> task;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      queued_.erase(task.first);
    }
    task.second();
  }
}

void background_maintenance::shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> budget_lock(budget_mu_);  // no writer thread is inside a budget pass
  std::lock_guard<std::mutex> l(mu_);
  dd_ = nullptr;
}

// Writers count what they write; past a share of the budget, the whole
// data dir is measured again (other processes write too) and trimmed. This
// runs on the writer's thread so that a writer whose active segment holds
// the excess rolls at once, not a buffer later.
static uint64_t check_interval(int64_t max) {
  return std::clamp<uint64_t>(static_cast<uint64_t>(max) / 8, 16u << 10, 64u << 20);
}

bool background_maintenance::opened(const std::string& dir, uint64_t active_bytes) {
  // A writer that starts on an active segment already big against the
  // budget checks it at once (a small produce would never reach a check).
  int64_t max = max_bytes_.load(std::memory_order_relaxed);
  if (max < 0 || active_bytes < check_interval(max)) return false;
  return check_budget(dir);
}

bool background_maintenance::wrote(const std::string& dir, bool deletable, uint64_t bytes, uint64_t active_bytes) {
  int64_t max = max_bytes_.load(std::memory_order_relaxed);
  if (max < 0) return false;
  uint64_t interval = check_interval(max);
  // Segments of delete-policy topics roll at an eighth of the budget at
  // the latest, so the budget is kept by removing eighths, not by emptying
  // a partition at once.
  if (deletable && active_bytes >= interval) return true;
  if (written_since_check_.fetch_add(bytes) + bytes < interval) return false;
  written_since_check_ = 0;
  return check_budget(dir);
}

bool background_maintenance::check_budget(const std::string& dir) {
  std::lock_guard<std::mutex> budget_lock(budget_mu_);
  data_dir* dd;
  {
    std::lock_guard<std::mutex> l(mu_);
    dd = dd_;
  }
  if (!dd) return false;  // an appender that outlived its data dir
  auto v = dd->setting("max.bytes");
  if (v.ok()) max_bytes_ = std::stoll(v.value());
  if (max_bytes_ < 0) return false;
  auto r = dd->enforce_budget(false);  // a pass already running does the job
  if (!r.ok()) {
    warn(r.status());
    return false;
  }
  bool roll_this = false;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& d : r->partitions_to_roll) {
    if (d == dir) roll_this = true;
    if (auto f = roll_flags_.find(d); f != roll_flags_.end()) *f->second = true;
  }
  return roll_this;
}

}  // namespace kappa
