// kappa serve --jobs: every job's serving version runs in the server
// process, following its input, with the same exactly-once runner as
// `kappa job run NAME --follow` (kappa/session_job.h); so does every
// mirror, as `kappa mirror run NAME --follow` (kappa/mirror.h).
//
// A supervisor thread reads the jobs from the catalog every couple of
// seconds: a new job starts; a cutover moves a job to its new serving
// version (the old one stops after a checkpoint); a deleted job stops. A
// version another process runs now (`kappa job run`) is left to it and
// taken over when it stops; a version that fails is said on stderr and
// started again later. Mirrors likewise: a new one starts, a deleted one
// stops, one another process runs is left to it. stop() checkpoints every
// job and mirror and returns.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kappa/data_dir.h"

namespace kappa::broker {

class job_host {
 public:
  explicit job_host(data_dir& dd);
  ~job_host();
  void start();
  void stop();

 private:
  struct running;
  struct running_mirror;
  void supervise();
  void reconcile();
  void reconcile_mirrors();
  void start_version(const std::string& job, int32_t version);
  void start_mirror(const std::string& name);

  data_dir& dd_;
  std::thread supervisor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::unique_ptr<running>> jobs_;  // by job name
  std::map<std::string, std::unique_ptr<running_mirror>> mirrors_;  // by mirror name
  std::map<std::string, std::string> said_;  // the last thing said per job or mirror (said once)
};

}  // namespace kappa::broker
