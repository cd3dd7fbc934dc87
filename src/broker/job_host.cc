#include "broker/job_host.h"

#include <atomic>
#include <chrono>
#include <cstdio>

#include "kappa/catalog.h"
#include "kappa/mirror.h"
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

// One mirror running on its own thread.
struct job_host::running_mirror {
  std::string name;
  std::thread thread;
  std::mutex mu;
  std::unique_ptr<mirror> m;  // once opened
  bool stop_asked = false;
  std::atomic<bool> finished{false};
  Status result;

  void stop() {
    std::lock_guard<std::mutex> l(mu);
    stop_asked = true;
    if (m) m->stop();
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
  for (auto& [name, r] : mirrors_) r->stop();
  for (auto& [name, r] : jobs_) r->join();
  for (auto& [name, r] : mirrors_) r->join();
  jobs_.clear();
  mirrors_.clear();
}

void job_host::supervise() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    l.unlock();
    reconcile();
    reconcile_mirrors();
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

// Makes what runs match the catalog's mirrors: each one, once.
void job_host::reconcile_mirrors() {
  if (!dd_.catalog()) return;
  auto mirrors = dd_.catalog()->list_mirrors();
  if (!mirrors.ok()) {
    say("serve --jobs: cannot read the mirrors: " + mirrors.status().message());
    return;
  }
  std::map<std::string, bool> wanted;
  for (const auto& m : mirrors.value()) wanted[m.name] = true;
  for (auto it = mirrors_.begin(); it != mirrors_.end();) {
    running_mirror& r = *it->second;
    bool keep = wanted.count(r.name) > 0;
    if (keep && !r.finished) {
      ++it;
      continue;
    }
    if (!keep && !r.finished) say("mirror " + r.name + ": the mirror was deleted; stopping it");
    r.stop();
    r.join();
    if (!r.result.ok()) {
      std::string what = "mirror " + r.name + ": " + r.result.message();
      if (r.result.is_busy())
        what = "mirror " + r.name + " runs in another process (" + r.result.message() +
               "); serve --jobs takes it over when that stops";
      std::string& said = said_["mirror " + r.name];
      if (said != what) say(what);
      said = what;
    }
    it = mirrors_.erase(it);
  }
  for (const auto& m : mirrors.value())
    if (!mirrors_.count(m.name)) start_mirror(m.name);
}

void job_host::start_mirror(const std::string& name) {
  auto r = std::make_unique<running_mirror>();
  r->name = name;
  running_mirror* rp = r.get();
  mirrors_[name] = std::move(r);
  rp->thread = std::thread([this, rp] {
    auto finish = [rp](Status st) {
      rp->result = std::move(st);
      rp->finished = true;
    };
    auto m = mirror::open(dd_, rp->name, true, [](const std::string& note) { say(note); });
    if (!m.ok()) return finish(m.status());
    {
      std::lock_guard<std::mutex> l(rp->mu);
      if (rp->stop_asked) return finish(Status::OK());
      rp->m = std::move(m.value());
    }
    say("mirror " + rp->name + ": running, following");
    Status st = rp->m->run();
    say("mirror " + rp->name + ": stopped");
    finish(st);
  });
}

}  // namespace kappa::broker
