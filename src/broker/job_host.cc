#include "broker/job_host.h"

#include <atomic>
#include <chrono>
#include <cstdio>

#include "kappa/catalog.h"
#include "kappa/session_job.h"
#include "processor/job_versions.h"

namespace kappa::broker {

namespace {
constexpr auto kLookEvery = std::chrono::seconds(2);
void say(const std::string& s) { std::fprintf(stderr, "kappa: %s\n", s.c_str()); }
}  // namespace

// One job version running on its own thread.
struct job_host::running {
  std::string job;
  int32_t version = 0;
  std::string label;  // "job web v2"
  std::thread thread;
  std::mutex mu;
  std::unique_ptr<session_job> sj;  // once opened
  bool stop_asked = false;
  std::atomic<bool> finished{false};
  bool caught_up_marked = false;
  Status result;

  void stop() {
    std::lock_guard<std::mutex> l(mu);
    stop_asked = true;
    if (sj) sj->stop();
  }
  void join() {
    if (thread.joinable()) thread.join();
  }
};

job_host::job_host(data_dir& dd) : dd_(dd) {}
job_host::~job_host() { stop(); }

void job_host::start() {
  supervisor_ = std::thread([this] { supervise(); });
}

void job_host::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ && !supervisor_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  for (auto& [name, r] : jobs_) r->stop();
  for (auto& [name, r] : jobs_) r->join();
  jobs_.clear();
}

void job_host::supervise() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    l.unlock();
    reconcile();
    l.lock();
    cv_.wait_for(l, kLookEvery, [&] { return stopping_; });
  }
}

// Makes what runs match the catalog: each job's serving version, once.
void job_host::reconcile() {
  if (!dd_.catalog()) return;
  auto jobs = dd_.catalog()->list_jobs();
  if (!jobs.ok()) {
    say("serve --jobs: cannot read the jobs: " + jobs.status().message());
    return;
  }
  std::map<std::string, int32_t> wanted;
  for (const auto& j : jobs.value()) wanted[j.name] = j.serving;
  // Stop what is no longer wanted (deleted, or cut over to another version).
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    running& r = *it->second;
    auto w = wanted.find(r.job);
    if (w != wanted.end() && w->second == r.version && !r.finished) {
      ++it;
      continue;
    }
    if (!r.finished) {
      say(r.label + (w == wanted.end() ? ": the job was deleted; stopping it"
                                       : ": version " + std::to_string(w->second) + " serves now; stopping this one"));
    }
    r.stop();
    r.join();
    if (!r.result.ok()) {
      std::string what = r.label + ": " + r.result.message();
      // A version another process runs is not an error: it is left to it.
      if (r.result.is_busy()) what = r.label + " runs in another process (" + r.result.message() +
                                     "); serve --jobs takes it over when that stops";
      if (said_[r.job] != what) say(what);
      said_[r.job] = what;
    }
    it = jobs_.erase(it);
  }
  for (const auto& j : jobs.value()) {
    if (jobs_.count(j.name)) {
      // A following version marks itself caught up once it is, as
      // `kappa job run --follow` does (reprocess and cutover rely on it).
      running& r = *jobs_[j.name];
      std::lock_guard<std::mutex> l(r.mu);
      if (!r.caught_up_marked && r.sj && r.sj->stats().caught_up) {
        const job_version& v = j.versions[static_cast<size_t>(r.version) - 1];
        Status st = v.caught_up ? Status::OK() : mark_caught_up(dd_, j.name, r.version);
        r.caught_up_marked = st.ok();
      }
      continue;
    }
    start_version(j.name, j.serving);
  }
}

void job_host::start_version(const std::string& job, int32_t version) {
  auto r = std::make_unique<running>();
  r->job = job;
  r->version = version;
  r->label = "job " + job + " v" + std::to_string(version);
  running* rp = r.get();
  jobs_[job] = std::move(r);
  rp->thread = std::thread([this, rp] {
    auto finish = [rp](Status st) {
      rp->result = std::move(st);
      rp->finished = true;
    };
    auto j = dd_.catalog()->get_job(rp->job);
    if (!j.ok()) return finish(j.status());
    if (rp->version < 1 || rp->version > static_cast<int32_t>(j->versions.size()))
      return finish(Status::NotFound("no version " + std::to_string(rp->version)));
    auto o = version_options(dd_, j.value(), j->versions[static_cast<size_t>(rp->version) - 1]);
    if (!o.ok()) return finish(o.status());
    o->follow = true;
    std::string label = rp->label;
    auto sj = session_job::open(dd_, o.value(), [label](const std::string& note) { say(label + ": " + note); });
    if (!sj.ok()) return finish(sj.status());
    {
      std::lock_guard<std::mutex> l(rp->mu);
      if (rp->stop_asked) return finish(Status::OK());
      rp->sj = std::move(sj.value());
    }
    say(label + ": running (" + o->input + " -> " + o->output + "), following");
    Status st = rp->sj->run();
    session_job_stats s = rp->sj->stats();
    say(label + ": stopped after " + std::to_string(s.events) + " events, " + std::to_string(s.sessions) +
        " sessions emitted, " + std::to_string(s.checkpoints) + " checkpoints");
    finish(st);
  });
}

}  // namespace kappa::broker
