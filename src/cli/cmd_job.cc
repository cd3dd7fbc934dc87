// kappa job: the Kappa workflow (SPEC section 6). A job is a sessionize
// definition with versions; version N writes BASE.vN under the group
// job:NAME:vN, so a new version never inherits an old one's offsets, and
// the alias BASE names the version that serves readers. reprocess defines
// version N+1 and replays history into it beside the live one; cutover
// switches BASE to it in one catalog transaction.
#include <cinttypes>
#include <cstdio>

#include "cli/cli_common.h"
#include "cli/session_run.h"
#include "kappa/catalog.h"
#include "kappa/session_job.h"
#include "log/topic_name.h"
#include "processor/job_options.h"
#include "processor/job_status.h"
#include "processor/job_versions.h"
#include "util/json_string.h"

namespace kappa::cli {
namespace {

std::string lag_detail(const version_status& vs) {
  std::string s;
  for (const auto& p : vs.parts)
    if (p.lag > 0)
      s += (s.empty() ? "" : ", ") + std::string("partition ") + std::to_string(p.partition) + ": " +
           std::to_string(p.lag);
  return s;
}

// "gap=20m, count-by=(none)": how version b's options differ from a's.
std::string differences(const std::string& a, const std::string& b) {
  std::string out;
  for (const auto& d : job_option_defs()) {
    std::string x = job_option(a, d.name), y = job_option(b, d.name);
    if (x == y) continue;
    out += (out.empty() ? "" : ", ") + std::string(d.name) + "=" + (y.empty() ? "(none)" : y);
  }
  return out.empty() ? "the same options" : out;
}

std::string one_line(const std::string& options) {
  std::string s;
  for (const auto& d : job_option_defs())
    if (std::string v = job_option(options, d.name); !v.empty())
      s += (s.empty() ? "--" : " --") + std::string(d.name) + " " + v;
  return s;
}

Status check_job_name(const std::string& name) {
  Status st = validate_topic_name(name);
  if (!st.ok())
    return Status::Invalid("invalid job name '" + name + "': job names follow topic names' rule (" + st.message() +
                           ")");
  return Status::OK();
}

Result<job_record> load(data_dir& dd, const std::string& name) {
  KAPPA_RETURN_IF_ERROR(check_job_name(name));
  if (!dd.catalog()) return Status::NotFound("job '" + name + "' does not exist (the data dir is empty)");
  return dd.catalog()->get_job(name);
}

Result<const job_version*> pick_version(const job_record& j, int32_t number) {
  if (number == 0) return &j.versions[j.serving - 1];
  if (number < 1 || number > static_cast<int32_t>(j.versions.size()))
    return Status::Invalid("job " + j.name + " has no version " + std::to_string(number) + " (it has 1.." +
                           std::to_string(j.versions.size()) + ")");
  return &j.versions[number - 1];
}

std::string json_str(const std::string& s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// ---- the verbs

struct job_opts {
  std::string name, output;
  bool sessionize = false, follow = false, json = false, abandon = false;
  int32_t version = 0;
  int64_t max_lag = 0;
  std::vector<std::string> sets;
  std::map<std::string, std::string> options;  // job create's sessionize options, by name
};

int create(job_opts& o, context& ctx) {
  if (Status st = check_job_name(o.name); !st.ok()) return fail(st);
  if (!o.sessionize) return usage_error("job create needs the job's kind: --sessionize (the one kind there is)");
  std::string text;
  for (const auto& [k, v] : o.options)
    if (!v.empty())
      if (Status st = set_job_option(&text, k, v); !st.ok()) return fail(st);
  auto parsed = job_options_from(text);
  if (!parsed.ok()) return fail(parsed.status());
  std::string base = o.output.empty() ? o.name : o.output;
  if (Status st = validate_topic_name(base + ".v999999"); !st.ok())
    return usage_error(std::string(o.output.empty() ? "the job name (the default --output) " : "--output ") + base +
                       " is no good as the base of versioned topic names (" + base + ".v1, ...): " + st.message());
  session_job_options jo = parsed.value();
  jo.output = version_topic(base, 1);
  if (!jo.late_output.empty()) jo.late_output = version_topic(jo.late_output, 1);
  if (Status st = session_job::validate(jo); !st.ok()) return fail(st);

  int rc = 0;
  auto dd = ctx.open(true, &rc);
  if (!dd) return rc;
  if (auto old = dd->catalog()->get_job(o.name); old.ok())
    return fail(Status::Exists("job '" + o.name + "' already exists (kappa job show " + o.name +
                               "; to change its logic, kappa job reprocess " + o.name + " --set option=value)"));
  // Kafka Streams refuses to start without its source topics; so does this.
  auto input = dd->resolve_topic(jo.input);
  if (!input.ok())
    return fail(input.status().is_not_found()
                    ? Status::NotFound("input topic '" + jo.input + "' of job " + o.name +
                                       " does not exist; create it (kappa topic create) or produce to it first")
                    : input.status());
  if (input->name == jo.output || base == input->name)
    return usage_error("--output " + base + " must differ from the input topic");
  if (auto t = dd->topic(base); t.ok())
    return fail(Status::Exists("--output " + base + ": a topic of that name exists, and the job's alias " + base +
                               " would need the name; choose another --output"));
  if (auto a = dd->catalog()->get_alias(base); a.ok())
    return fail(Status::Exists("--output " + base + ": alias " + base + " exists already (it points to " + a->topic +
                               "); choose another --output"));
  // A new version starts on an empty topic of its own, never after records
  // someone else left there (an earlier job of that name, say).
  if (auto t = dd->topic(jo.output); t.ok())
    return fail(Status::Exists("topic " + jo.output +
                               " exists already (left by an earlier job?), and version 1 of "
                               "job " +
                               o.name + " would write there; delete it (kappa topic delete " + jo.output +
                               ") or choose another --output"));
  auto out = session_job::prepare_output(*dd, jo.output, input.value());
  if (!out.ok()) return fail(out.status());
  job_record j;
  j.name = o.name;
  j.base = base;
  j.serving = 1;
  j.created_ms = now_ms();
  j.versions.push_back(job_version{1, text, j.created_ms, false});
  Status st = dd->catalog()->create_job(j, jo.output);
  if (!st.ok()) return fail(st);
  std::printf("created job %s: version 1 reads %s and writes %s; alias %s -> %s\n", o.name.c_str(), jo.input.c_str(),
              jo.output.c_str(), base.c_str(), jo.output.c_str());
  std::fflush(stdout);
  note("run it with `kappa job run " + o.name + " --follow`; read its sessions with `kappa consume " + base + "`");
  return kExitOk;
}

int list(job_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  std::vector<job_record> jobs;
  if (dd->catalog()) {
    auto r = dd->catalog()->list_jobs();
    if (!r.ok()) return fail(r.status());
    jobs = std::move(r.value());
  }
  if (o.json) {
    std::string s = "[";
    for (size_t i = 0; i < jobs.size(); i++) {
      const auto& j = jobs[i];
      s += (i ? ",{\"name\":" : "{\"name\":") + json_str(j.name) + ",\"kind\":" + json_str(j.kind) +
           ",\"input\":" + json_str(job_option(j.versions.back().options, "input")) + ",\"alias\":" + json_str(j.base) +
           ",\"serving\":" + std::to_string(j.serving) + ",\"versions\":" + std::to_string(j.versions.size()) + "}";
    }
    std::printf("%s]\n", s.c_str());
    return kExitOk;
  }
  if (jobs.empty()) return kExitOk;
  std::printf("%-24s %-10s %-20s %-20s %7s %8s\n", "job", "kind", "input", "alias", "serving", "versions");
  for (const auto& j : jobs)
    std::printf("%-24s %-10s %-20s %-20s %7d %8zu\n", j.name.c_str(), j.kind.c_str(),
                job_option(j.versions.back().options, "input").c_str(), j.base.c_str(), j.serving, j.versions.size());
  return kExitOk;
}

int show(job_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  auto j = load(*dd, o.name);
  if (!j.ok()) return fail(j.status());
  auto alias = dd->catalog()->get_alias(j->base);
  std::string target = alias.ok() ? alias->topic : "";
  if (o.json) {
    std::string s = "{\"name\":" + json_str(j->name) + ",\"kind\":" + json_str(j->kind) +
                    ",\"alias\":" + json_str(j->base) +
                    ",\"alias_topic\":" + (target.empty() ? "null" : json_str(target)) +
                    ",\"serving\":" + std::to_string(j->serving) +
                    ",\"created_timestamp\":" + std::to_string(j->created_ms) + ",\"versions\":[";
    for (size_t i = 0; i < j->versions.size(); i++) {
      const auto& v = j->versions[i];
      s += (i ? ",{\"version\":" : "{\"version\":") + std::to_string(v.number) +
           ",\"output\":" + json_str(version_topic(j->base, v.number)) +
           ",\"group\":" + json_str(version_group(j->name, v.number)) +
           ",\"created_timestamp\":" + std::to_string(v.created_ms) +
           ",\"caught_up\":" + (v.caught_up ? "true" : "false") + ",\"options\":{";
      bool first = true;
      for (const auto& d : job_option_defs()) {
        std::string val = job_option(v.options, d.name);
        if (val.empty()) continue;
        s += (first ? "" : ",") + json_str(d.name) + ":" + json_str(val);
        first = false;
      }
      s += "}}";
    }
    std::printf("%s]}\n", s.c_str());
    return kExitOk;
  }
  std::printf("job %s (%s), created %s\n", j->name.c_str(), j->kind.c_str(), event_time(j->created_ms).c_str());
  std::printf("alias %s -> %s (version %d serves readers)\n", j->base.c_str(),
              target.empty() ? "(deleted)" : target.c_str(), j->serving);
  for (const auto& v : j->versions) {
    std::string state = v.caught_up ? "caught up" : v.number > 1 ? "reprocess unfinished" : "not caught up yet";
    if (v.number == j->serving) state = "serving, " + state;
    std::printf("version %d (%s): output %s, group %s, created %s\n", v.number, state.c_str(),
                version_topic(j->base, v.number).c_str(), version_group(j->name, v.number).c_str(),
                event_time(v.created_ms).c_str());
    std::printf("  %s\n", one_line(v.options).c_str());
    if (v.number > 1)
      std::printf("  changed from version %d: %s\n", v.number - 1,
                  differences(j->versions[v.number - 2].options, v.options).c_str());
  }
  return kExitOk;
}

int status(job_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  auto j = load(*dd, o.name);
  if (!j.ok()) return fail(j.status());
  // One version that cannot be read (its input topic deleted, say) does
  // not hide the others: it is shown with its error, and the exit code is 1.
  std::vector<version_status> all;
  bool failed = false;
  for (const auto& v : j->versions) {
    auto vs = status_of(*dd, j.value(), v);
    if (vs.ok()) {
      all.push_back(std::move(vs.value()));
      continue;
    }
    failed = true;
    version_status bad;
    bad.v = &v;
    bad.error = vs.status().message();
    bad.output = version_topic(j->base, v.number);
    bad.group = version_group(j->name, v.number);
    bad.pid = session_job::running_pid(*dd, bad.group);
    all.push_back(std::move(bad));
  }
  auto alias = dd->catalog()->get_alias(j->base);
  std::string alias_topic = alias.ok() ? alias->topic : "";
  if (alias_topic != version_topic(j->base, j->serving))
    note("alias " + j->base + (alias_topic.empty() ? " was deleted" : " points to " + alias_topic) +
         ", not to the serving version's " + version_topic(j->base, j->serving) + "; kappa job cutover " + j->name +
         " --version " + std::to_string(j->serving) + " points it back");
  if (o.json) {
    std::string s = "{\"job\":" + json_str(j->name) + ",\"alias\":" + json_str(j->base) +
                    ",\"alias_topic\":" + (alias_topic.empty() ? "null" : json_str(alias_topic)) +
                    ",\"serving\":" + std::to_string(j->serving) + ",\"versions\":[";
    for (size_t i = 0; i < all.size(); i++) {
      const auto& vs = all[i];
      if (!vs.error.empty()) {
        s += (i ? ",{\"version\":" : "{\"version\":") + std::to_string(vs.v->number) +
             ",\"output\":" + json_str(vs.output) + ",\"group\":" + json_str(vs.group) +
             ",\"error\":" + json_str(vs.error) + "}";
        continue;
      }
      s += (i ? ",{\"version\":" : "{\"version\":") + std::to_string(vs.v->number) +
           ",\"input\":" + json_str(vs.input) + ",\"output\":" + json_str(vs.output) +
           ",\"group\":" + json_str(vs.group) + ",\"serving\":" + (vs.v->number == j->serving ? "true" : "false") +
           ",\"running\":" + (vs.pid ? "true" : "false") + ",\"pid\":" + (vs.pid ? std::to_string(vs.pid) : "null") +
           ",\"caught_up\":" + (vs.v->caught_up ? "true" : "false") + ",\"lag\":" + std::to_string(vs.lag) +
           ",\"partitions\":[";
      for (size_t k = 0; k < vs.parts.size(); k++) {
        const auto& p = vs.parts[k];
        char eps[32];
        std::snprintf(eps, sizeof eps, "%.1f", p.events_per_s);
        s += (k ? ",{\"partition\":" : "{\"partition\":") + std::to_string(p.partition) +
             ",\"committed_offset\":" + (p.checkpointed ? std::to_string(p.committed) : "null") +
             ",\"log_end_offset\":" + std::to_string(p.log_end) + ",\"lag\":" + std::to_string(p.lag) +
             ",\"watermark\":" + (p.checkpointed && p.watermark != INT64_MIN ? std::to_string(p.watermark) : "null") +
             ",\"open_sessions\":" + std::to_string(p.open_sessions) +
             ",\"last_checkpoint_timestamp\":" + (p.checkpointed ? std::to_string(p.checkpoint_ms) : "null") +
             ",\"events_per_second\":" + eps + ",\"idle\":" + (p.idle_since != INT64_MIN ? "true" : "false") +
             ",\"idle_since\":" + (p.idle_since != INT64_MIN ? std::to_string(p.idle_since) : "null") + "}";
      }
      s += "]}";
    }
    std::printf("%s]}\n", s.c_str());
    return failed ? kExitRuntime : kExitOk;
  }
  std::printf("job %s: alias %s serves version %d\n", j->name.c_str(), j->base.c_str(), j->serving);
  for (const auto& vs : all) {
    if (!vs.error.empty()) {
      std::printf("version %d: %s, group %s: cannot read its state: %s\n", vs.v->number, vs.output.c_str(),
                  vs.group.c_str(), vs.error.c_str());
      continue;
    }
    std::string state = vs.pid ? "running, pid " + std::to_string(vs.pid) : "not running";
    if (vs.v->number == j->serving) state = "serving, " + state;
    std::printf("version %d (%s): %s -> %s, group %s, lag %" PRId64 "\n", vs.v->number, state.c_str(), vs.input.c_str(),
                vs.output.c_str(), vs.group.c_str(), vs.lag);
    std::printf("  %9s %16s %14s %10s %-24s %13s %-24s %10s\n", "partition", "committed_offset", "log_end_offset",
                "lag", "watermark", "open_sessions", "last_checkpoint", "events/s");
    for (const auto& p : vs.parts)
      std::printf("  %9d %16s %14" PRId64 " %10" PRId64 " %-24s %13" PRIu64 " %-24s %10.0f\n", p.partition,
                  p.checkpointed ? std::to_string(p.committed).c_str() : "-", p.log_end, p.lag,
                  p.checkpointed ? event_time(p.watermark).c_str() : "-", p.open_sessions,
                  p.checkpointed ? event_time(p.checkpoint_ms).c_str() : "never", p.events_per_s);
    for (const auto& p : vs.parts)
      if (p.idle_since != INT64_MIN)
        std::printf("  partition %d idle since %s (no input record for longer than --idle-timeout)\n", p.partition,
                    event_time(p.idle_since).c_str());
  }
  return failed ? kExitRuntime : kExitOk;
}

int del(job_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  auto j = load(*dd, o.name);
  if (!j.ok()) return fail(j.status());
  for (const auto& v : j->versions)
    if (int pid = session_job::running_pid(*dd, version_group(j->name, v.number)))
      return fail(Status::Busy("version " + std::to_string(v.number) + " of job " + j->name + " is running (pid " +
                               std::to_string(pid) + "); stop it first"));
  std::string outputs;
  for (const auto& v : j->versions) {
    Status st = dd->catalog()->delete_group(version_group(j->name, v.number));
    if (!st.ok() && !st.is_not_found()) return fail(st);
    outputs += (outputs.empty() ? "" : " ") + version_topic(j->base, v.number);
  }
  Status st = dd->catalog()->delete_job(j->name);
  if (!st.ok()) return fail(st);
  note("deleted job " + j->name + " with its checkpoints, offsets and alias " + j->base + "; its output topics stay (" +
       outputs + "): remove them with kappa topic delete");
  return kExitOk;
}

int run(job_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  auto j = load(*dd, o.name);
  if (!j.ok()) return fail(j.status());
  auto v = pick_version(j.value(), o.version);
  if (!v.ok()) return fail(v.status());
  auto jo = version_options(*dd, j.value(), *v.value());
  if (!jo.ok()) return fail(jo.status());
  jo->follow = o.follow;
  int32_t number = v.value()->number;
  // A version reads one topic: if its input alias has moved, it cannot go
  // on (the runner would refuse too, in sessionize's words).
  auto def = dd->catalog()->job_definition_of(jo->group);
  if (auto in = dd->resolve_topic(jo->input); def.ok() && in.ok() && def->input != in->name)
    return fail(Status::Busy("version " + std::to_string(number) + " of job " + j->name + " has read topic " +
                             def->input + ", but its input alias " + jo->input + " now points to " + in->name +
                             "; a version reads one topic: point the alias back, or start a version that reads " +
                             in->name + " with kappa job reprocess " + j->name));
  session_run_display display{"job " + j->name + " v" + std::to_string(number) + " (" + jo->input + " -> " +
                              jo->output + ")"};
  // A following run marks its version caught up as soon as it is, not
  // only when it stops.
  Status marked;
  bool was_caught_up = v.value()->caught_up;
  if (o.follow && !was_caught_up)
    display.on_caught_up = [&] {
      marked = mark_caught_up(*dd, j->name, number);
      was_caught_up = marked.ok();
    };
  session_run_result r;
  rc = run_session_job(*dd, jo.value(), display, &r);
  if (rc == kExitOk && r.after.caught_up && !was_caught_up) marked = mark_caught_up(*dd, j->name, number);
  if (!marked.ok()) return fail(marked);
  return rc;
}

// Drops the newest version while its reprocess is unfinished: its
// checkpoint, offsets and output topics (nobody has read them through the
// alias: it never served).
int abandon(data_dir& dd, const job_record& j) {
  const job_version& v = j.versions.back();
  if (v.number == 1 || v.caught_up || v.number == j.serving)
    return fail(Status::Busy("job " + j.name + " has no unfinished version to abandon (version " +
                             std::to_string(v.number) + " has " + (v.caught_up ? "caught up" : "never been replaced") +
                             ")"));
  std::string group = version_group(j.name, v.number);
  if (int pid = session_job::running_pid(dd, group))
    return fail(Status::Busy("version " + std::to_string(v.number) + " of job " + j.name + " is running (pid " +
                             std::to_string(pid) + "); stop it first"));
  Status st = dd.catalog()->modify_job(j.name, [&](job_record& r, std::string*) {
    if (r.versions.back().number != v.number || r.versions.back().caught_up)
      return Status::Busy("job " + j.name + " changed meanwhile; look again with kappa job show " + j.name);
    r.versions.pop_back();
    return Status::OK();
  });
  if (!st.ok()) return fail(st);
  if (st = dd.catalog()->delete_group(group); !st.ok() && !st.is_not_found()) return fail(st);
  std::string removed;
  auto opts = job_options_from(v.options);
  std::vector<std::string> topics = {version_topic(j.base, v.number)};
  if (opts.ok() && !opts->late_output.empty()) topics.push_back(version_topic(opts->late_output, v.number));
  for (const auto& t : topics) {
    st = dd.delete_topic(t);
    if (st.ok())
      removed += (removed.empty() ? "" : ", ") + t;
    else if (!st.is_not_found())
      return fail(st);
  }
  note("abandoned version " + std::to_string(v.number) + " of job " + j.name + " (" +
       differences(j.versions[v.number - 2].options, v.options) + "): removed its checkpoint" +
       (removed.empty() ? "" : " and its output " + removed));
  return kExitOk;
}

int reprocess(job_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  auto loaded = load(*dd, o.name);
  if (!loaded.ok()) return fail(loaded.status());
  if (o.abandon) {
    if (!o.sets.empty() || o.follow) return usage_error("--abandon takes no --set and no --follow");
    return abandon(*dd, loaded.value());
  }
  std::vector<std::pair<std::string, std::string>> sets;
  for (const auto& s : o.sets) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return usage_error("invalid --set '" + s + "': expected option=value, e.g. --set gap=20m");
    std::string k = s.substr(0, eq);
    if (k.size() > 2 && k.compare(0, 2, "--") == 0) k = k.substr(2);
    if (k == "from") return usage_error("--set from: a reprocessed version always replays its input from earliest");
    sets.emplace_back(k, s.substr(eq + 1));
  }
  // What the command asks for: the newest finished version's options with
  // the changes (a reprocessed version has no --from: it replays from
  // earliest). Checked before anything is defined.
  const job_version& newest = loaded->versions.back();
  const bool unfinished = newest.number > 1 && !newest.caught_up;
  const std::string base_options = unfinished ? loaded->versions[newest.number - 2].options : newest.options;
  std::string wanted = base_options;
  for (const auto& [k, v] : sets)
    if (Status st = set_job_option(&wanted, k, v); !st.ok()) return fail(st);
  if (Status st = set_job_option(&wanted, "from", ""); !st.ok()) return fail(st);
  auto parsed = job_options_from(wanted);
  if (!parsed.ok()) return fail(parsed.status());
  if (auto in = dd->resolve_topic(parsed->input); !in.ok())
    return fail(in.status().is_not_found() ? Status::NotFound("input topic '" + parsed->input + "' of job " + o.name +
                                                              " does not exist; create it or produce to it first")
                                           : in.status());
  if (!unfinished && !sets.empty() && wanted == newest.options) {
    // Run again after it finished: nothing to do (no --set replays anew).
    note("version " + std::to_string(newest.number) + " of job " + o.name + " already has these options and has " +
         (newest.caught_up ? "caught up" : "not been run") + "; nothing to reprocess (without --set, reprocess " +
         "replays the newest version's logic into a new version)");
    return kExitOk;
  }
  if (unfinished && !sets.empty() && wanted != newest.options)
    return fail(Status::Busy("version " + std::to_string(newest.number) + " of job " + o.name +
                             " is still being reprocessed (with " + differences(base_options, newest.options) +
                             "); resume it with `kappa job reprocess " + o.name +
                             "` (no --set, or the same ones) and reprocess again once it has caught up, or drop it "
                             "with `kappa job reprocess " +
                             o.name + " --abandon`"));
  if (unfinished) {
    if (int pid = session_job::running_pid(*dd, version_group(o.name, newest.number)))
      return fail(Status::Busy("version " + std::to_string(newest.number) + " of job " + o.name +
                               " is being reprocessed by another process (pid " + std::to_string(pid) +
                               "); see its progress with kappa job status " + o.name));
  } else {
    // A new version starts on an empty topic of its own.
    std::string out = version_topic(loaded->base, newest.number + 1);
    if (auto t = dd->topic(out); t.ok())
      return fail(Status::Exists("topic " + out + " exists already (left by an earlier job?), and version " +
                                 std::to_string(newest.number + 1) + " of job " + o.name +
                                 " would write there; delete it (kappa topic delete " + out + ") and reprocess again"));
  }
  // Defined (or found unfinished) in one transaction, so two reprocess
  // commands cannot define two versions.
  int32_t number = 0;
  bool resumed = false;
  Status st = dd->catalog()->modify_job(o.name, [&](job_record& j, std::string*) {
    const job_version& last = j.versions.back();
    if (last.number != newest.number || last.caught_up != newest.caught_up)
      return Status::Busy("job " + j.name + " changed meanwhile (another reprocess?); look with kappa job show " +
                          j.name);
    if (unfinished) {
      number = last.number;
      resumed = true;
      return Status::OK();
    }
    number = last.number + 1;
    j.versions.push_back(job_version{number, wanted, now_ms(), false});
    return Status::OK();
  });
  if (!st.ok()) return fail(st);
  auto j = dd->catalog()->get_job(o.name);
  if (!j.ok()) return fail(j.status());
  const job_version& v = j->versions[number - 1];
  auto jo = version_options(*dd, j.value(), v);
  if (!jo.ok()) return fail(jo.status());
  if (!resumed) {
    note("defined version " + std::to_string(number) + " of job " + j->name + " (" +
         differences(j->versions[number - 2].options, v.options) + "); replaying " + jo->input + " from earliest" +
         (jo->read_archive ? " (through its archive tier)" : "") + " into " + jo->output + "; version " +
         std::to_string(j->serving) + " keeps serving " + j->base);
  } else {
    note("resuming version " + std::to_string(number) + " of job " + j->name + " from its checkpoint");
  }
  // History that retention removed is not there to replay: say so.
  if (auto in = dd->resolve_topic(jo->input); in.ok())
    for (int32_t p = 0; p < in->partitions; p++)
      if (auto r = dd->open_reader(in.value(), p, jo->read_archive); r.ok() && r.value()->log_start_offset() > 0)
        note(partition_name(in->name, p) + " starts at offset " + std::to_string(r.value()->log_start_offset()) +
             (jo->read_archive ? " even with its archive tier" : "") +
             ": older records were removed by retention, so version " + std::to_string(number) +
             " replays from there, not from offset 0");
  jo->from_latest = false;
  jo->follow = true;
  jo->until_caught_up = !o.follow;
  std::string caught_up_note = "version " + std::to_string(number) + " of job " + j->name + " has caught up with " +
                               jo->input + " (lag 0); compare it with `kappa compare " + j->base + " " + jo->output +
                               "`, then switch readers with `kappa job cutover " + j->name + "`";
  session_run_display display{"job " + j->name + " v" + std::to_string(number) + " reprocess", true};
  Status marked;
  if (o.follow)
    display.on_caught_up = [&] {
      marked = mark_caught_up(*dd, j->name, number);
      note(marked.ok() ? caught_up_note + "; it goes on following the input" : marked.message());
    };
  session_run_result r;
  rc = run_session_job(*dd, jo.value(), display, &r);
  if (rc != kExitOk) return rc;
  if (o.follow && r.after.caught_up) return marked.ok() ? kExitOk : fail(marked);
  if (!r.after.caught_up) {
    note("interrupted: version " + std::to_string(number) + " of job " + j->name + " is " +
         std::to_string(r.after.lag) + " record(s) behind " + jo->input + "; run `kappa job reprocess " + j->name +
         "` again to resume it from its checkpoint");
    return kExitRuntime;
  }
  if (Status ms = mark_caught_up(*dd, j->name, number); !ms.ok()) return fail(ms);
  note(caught_up_note);
  return kExitOk;
}

int cutover(job_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  auto j = load(*dd, o.name);
  if (!j.ok()) return fail(j.status());
  auto v = o.version ? pick_version(j.value(), o.version) : Result<const job_version*>(&j->versions.back());
  if (!v.ok()) return fail(v.status());
  int32_t number = v.value()->number;
  std::string target = version_topic(j->base, number);
  auto alias = dd->catalog()->get_alias(j->base);
  if (number == j->serving && alias.ok() && alias->topic == target) {
    note("version " + std::to_string(number) + " of job " + j->name + " already serves alias " + j->base + " (" +
         target + "); nothing to switch");
    return kExitOk;
  }
  auto vs = status_of(*dd, j.value(), *v.value());
  if (!vs.ok()) return fail(vs.status());
  if (vs->lag > o.max_lag)
    return fail(Status::Busy("version " + std::to_string(number) + " of job " + j->name + " has not caught up: lag " +
                             std::to_string(vs->lag) + " record(s) (" + lag_detail(vs.value()) + "); run `kappa job " +
                             (number == static_cast<int32_t>(j->versions.size()) && number > 1 && !v.value()->caught_up
                                  ? "reprocess " + j->name
                                  : "run " + j->name + " --version " + std::to_string(number)) +
                             "` until it has, then cut over (or allow some lag with --max-lag)"));
  std::string was;
  Status st = dd->catalog()->modify_job(j->name, [&](job_record& rec, std::string* alias_topic) {
    was = version_topic(rec.base, rec.serving);
    rec.serving = number;
    *alias_topic = target;
    return Status::OK();
  });
  if (!st.ok()) return fail(st);
  std::printf("alias %s -> %s (was %s); version %d of job %s serves readers\n", j->base.c_str(), target.c_str(),
              alias.ok() ? alias->topic.c_str() : was.c_str(), number, j->name.c_str());
  std::fflush(stdout);
  note("consumer groups reading " + j->base + " keep their offsets per topic: one that read " +
       (alias.ok() ? alias->topic : was) + " starts " + target +
       " from its own committed offsets, or from --from (default earliest) if it has none");
  return kExitOk;
}

}  // namespace

void add_job(CLI::App& app, context& ctx) {
  auto* job = app.add_subcommand("job", "versioned stream jobs: run, reprocess, compare and cut over (Kappa)");
  job->require_subcommand(1);
  static job_opts o;
  auto bind = [&](CLI::App* c, int (*verb)(job_opts&, context&)) {
    c->callback([&ctx, verb] { ctx.run = [&ctx, verb] { return verb(o, ctx); }; });
  };

  auto* create_cmd = job->add_subcommand("create", "define a job; version 1 writes OUTPUT.v1, alias OUTPUT names it");
  create_cmd->add_option("name", o.name, "job name")->required();
  create_cmd->add_flag("--sessionize", o.sessionize, "the job's kind: event-time session windows (kappa sessionize)");
  create_cmd->add_option("--output", o.output,
                         "base of the output topics: version N writes BASE.vN, alias BASE names the serving one "
                         "(default: the job name)");
  for (const auto& d : job_option_defs()) {
    auto* opt = create_cmd->add_option(std::string("--") + d.name, o.options[d.name], d.help);
    if (d.required) opt->required();
    if (*d.default_text) opt->default_str(d.default_text);
  }
  bind(create_cmd, create);

  auto* list_cmd = job->add_subcommand("list", "list jobs");
  list_cmd->add_flag("--json", o.json, "machine-readable output");
  bind(list_cmd, list);

  auto* show_cmd = job->add_subcommand("show", "a job's definition and versions");
  show_cmd->add_option("name", o.name, "job name")->required();
  show_cmd->add_flag("--json", o.json, "machine-readable output");
  bind(show_cmd, show);

  auto* delete_cmd = job->add_subcommand("delete", "forget a job: its versions' checkpoints and offsets, its alias");
  delete_cmd->add_option("name", o.name, "job name")->required();
  bind(delete_cmd, del);

  auto* run_cmd = job->add_subcommand("run", "run a version (default: the serving one), exactly once");
  run_cmd->add_option("name", o.name, "job name")->required();
  run_cmd->add_option("--version", o.version, "version to run (default: the one serving readers)")
      ->check(CLI::Range(1, INT32_MAX));
  run_cmd->add_flag("--follow", o.follow, "keep processing records as they are appended (stop with SIGTERM/SIGINT)");
  bind(run_cmd, run);

  auto* status_cmd = job->add_subcommand("status", "per version and input partition: offsets, lag, watermark, ...");
  status_cmd->add_option("name", o.name, "job name")->required();
  status_cmd->add_flag("--json", o.json, "machine-readable output");
  bind(status_cmd, status);

  auto* reprocess_cmd = job->add_subcommand(
      "reprocess", "define version N+1 with changed options and replay the input into it until caught up");
  reprocess_cmd->add_option("name", o.name, "job name")->required();
  reprocess_cmd->add_option("--set", o.sets, "option=value to change, e.g. gap=20m (repeatable; value empty: unset)");
  reprocess_cmd->add_flag("--abandon", o.abandon,
                          "drop the unfinished newest version (its checkpoint and output topics) instead");
  reprocess_cmd->add_flag("--follow", o.follow,
                          "once caught up, go on processing what is appended (ready for a cutover at any time)");
  bind(reprocess_cmd, reprocess);

  auto* cutover_cmd = job->add_subcommand(
      "cutover", "point the job's alias at its newest version, if it has caught up (refused with its lag if not)");
  cutover_cmd->add_option("name", o.name, "job name")->required();
  cutover_cmd->add_option("--version", o.version, "switch to this version instead of the newest (e.g. to roll back)")
      ->check(CLI::Range(1, INT32_MAX));
  cutover_cmd->add_option("--max-lag", o.max_lag, "lag (records) still counted as caught up")
      ->check(CLI::Range(int64_t{0}, INT64_MAX));
  bind(cutover_cmd, cutover);
}

}  // namespace kappa::cli
