// kappa mirror: forward local topics to a Kafka cluster (--to), or pull a
// cluster's topics into local ones (--from), exactly once (SPEC section 9).
// The work is kappa::mirror (src/mirror); this is its command line.
#include <csignal>
#include <cstdio>  // first: it defines __GLIBC__
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cli/cli_common.h"
#include "kappa/catalog.h"
#include "kappa/mirror.h"
#include "util/json_string.h"

namespace kappa::cli {
namespace {

struct mirror_opts {
  std::string name, to, from, topics, prefix, start = "earliest";
  std::vector<std::string> props;
  bool follow = false, json = false;
};

std::string json_str(const std::string& s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

int create(mirror_opts& o, context& ctx) {
  if (o.to.empty() == o.from.empty())
    return usage_error("mirror create needs one direction: --to BOOTSTRAP (forward local topics to a cluster) or "
                       "--from BOOTSTRAP (pull a cluster's topics here)");
  mirror_record m;
  m.name = o.name;
  m.to = !o.to.empty();
  m.bootstrap = m.to ? o.to : o.from;
  m.topics = o.topics;
  m.prefix = o.prefix;
  m.from_latest = o.start == "latest";
  for (const auto& p : o.props) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      return usage_error("-X " + p + ": write a librdkafka property as key=value (e.g. -X compression.type=lz4)");
    m.properties.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  if (Status st = mirror::check(m); !st.ok()) return fail(st);
  int rc = 0;
  auto dd = ctx.open(true, &rc);
  if (!dd) return rc;
  m.created_ms = now_ms();
  if (Status st = dd->catalog()->create_mirror(m); !st.ok()) return fail(st);
  std::printf("created mirror %s: %s %s %s, topics %s%s\n", m.name.c_str(), m.to ? "local" : m.bootstrap.c_str(),
              m.to ? "->" : "->", m.to ? m.bootstrap.c_str() : "local", m.topics.c_str(),
              m.prefix.empty() ? "" : (", destination names prefixed " + m.prefix).c_str());
  std::fflush(stdout);
  note("run it with `kappa mirror run " + m.name + " --follow` (or in `kappa serve --jobs`)");
  return kExitOk;
}

mirror* g_running = nullptr;
void on_signal(int) {
  if (g_running) g_running->stop();
}

int run(mirror_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
#ifdef __GLIBC__
  // Each forwarded record costs librdkafka four small allocations of four
  // sizes (the message, its header list, the list's array, the
  // kappa.mirror.offset header), freed a batch at a time by the delivery
  // reports. With glibc's fastbins that churn spent much of the forwarder's
  // CPU in _int_malloc and malloc_consolidate; without them (M_MXFAST 0:
  // freed small chunks coalesce at once) a forward of 2M records took about
  // 30 % less CPU (benchmarks/mirror_bench.py). Process-wide, so set here,
  // where the process is the mirror, not in the library.
  mallopt(M_MXFAST, 0);
#endif
  auto m = mirror::open(*dd, o.name, o.follow, [](const std::string& s) { note(s); });
  if (!m.ok()) return fail(m.status());
  g_running = m.value().get();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  Status st = m.value()->run();
  g_running = nullptr;
  if (!st.ok()) return fail(st);
  return kExitOk;
}

int list(mirror_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  std::vector<mirror_record> mirrors;
  if (dd->catalog()) {
    auto r = dd->catalog()->list_mirrors();
    if (!r.ok()) return fail(r.status());
    mirrors = std::move(r.value());
  }
  if (o.json) {
    std::string s = "[";
    for (size_t i = 0; i < mirrors.size(); i++) {
      const auto& m = mirrors[i];
      int pid = mirror::running_pid(*dd, m.name);
      s += (i ? ",{\"name\":" : "{\"name\":") + json_str(m.name) + ",\"direction\":" + (m.to ? "\"to\"" : "\"from\"") +
           ",\"bootstrap\":" + json_str(m.bootstrap) + ",\"topics\":" + json_str(m.topics) +
           ",\"prefix\":" + json_str(m.prefix) + ",\"start\":" + (m.from_latest ? "\"latest\"" : "\"earliest\"") +
           ",\"pid\":" + (pid ? std::to_string(pid) : "null") + "}";
    }
    std::printf("%s]\n", s.c_str());
    return kExitOk;
  }
  if (mirrors.empty()) return kExitOk;
  std::printf("%-20s %-9s %-28s %-24s %-12s %s\n", "mirror", "direction", "bootstrap", "topics", "prefix", "running");
  for (const auto& m : mirrors) {
    int pid = mirror::running_pid(*dd, m.name);
    std::printf("%-20s %-9s %-28s %-24s %-12s %s\n", m.name.c_str(), m.to ? "to" : "from", m.bootstrap.c_str(),
                m.topics.c_str(), m.prefix.empty() ? "-" : m.prefix.c_str(),
                pid ? ("pid " + std::to_string(pid)).c_str() : "no");
  }
  return kExitOk;
}

std::string lost_text(const std::vector<std::pair<int64_t, int64_t>>& lost, bool json) {
  std::string s = json ? "[" : "";
  for (size_t i = 0; i < lost.size(); i++) {
    if (json)
      s += (i ? ",[" : "[") + std::to_string(lost[i].first) + "," + std::to_string(lost[i].second) + "]";
    else
      s += (i ? "," : "") + std::to_string(lost[i].first) + "-" + std::to_string(lost[i].second);
  }
  return json ? s + "]" : (s.empty() ? "-" : s);
}

int status(mirror_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  if (!dd->catalog()) return fail(Status::NotFound("mirror '" + o.name + "' does not exist (the data dir is empty)"));
  auto m = dd->catalog()->get_mirror(o.name);
  if (!m.ok()) return fail(m.status());
  auto parts = mirror::status(*dd, m.value());
  if (!parts.ok()) return fail(parts.status());
  int pid = mirror::running_pid(*dd, o.name);
  if (o.json) {
    std::string s = "{\"name\":" + json_str(m->name) + ",\"direction\":" + (m->to ? "\"to\"" : "\"from\"") +
                    ",\"bootstrap\":" + json_str(m->bootstrap) + ",\"topics\":" + json_str(m->topics) +
                    ",\"prefix\":" + json_str(m->prefix) + ",\"pid\":" + (pid ? std::to_string(pid) : "null") +
                    ",\"partitions\":[";
    for (size_t i = 0; i < parts->size(); i++) {
      const auto& p = (*parts)[i];
      s += (i ? ",{\"topic\":" : "{\"topic\":") + json_str(p.topic) +
           ",\"destination_topic\":" + json_str(m->to ? mirror::destination_of(*m, p.topic) : m->prefix + p.topic) +
           ",\"partition\":" + std::to_string(p.partition) +
           ",\"log_end_offset\":" + (p.log_end_offset >= 0 ? std::to_string(p.log_end_offset) : "null") +
           ",\"committed_offset\":" + std::to_string(p.committed_offset) + ",\"lag\":" + std::to_string(p.lag) +
           ",\"lag_ms\":" + std::to_string(p.lag_ms) +
           ",\"last_error\":" + (p.last_error.empty() ? "null" : json_str(p.last_error)) +
           ",\"lost\":" + lost_text(p.lost, true) + "}";
    }
    std::printf("%s]}\n", s.c_str());
    return kExitOk;
  }
  std::printf("mirror %s: %s %s, topics %s%s; %s\n", m->name.c_str(), m->to ? "to" : "from", m->bootstrap.c_str(),
              m->topics.c_str(), m->prefix.empty() ? "" : (", prefix " + m->prefix).c_str(),
              pid ? ("running (pid " + std::to_string(pid) + ")").c_str() : "not running");
  if (parts->empty()) {
    std::printf("no partitions yet\n");
    return kExitOk;
  }
  std::printf("%-24s %9s %14s %14s %10s %10s %-14s %s\n", "topic", "partition", "log-end", "committed", "lag",
              "lag-ms", "lost", "last-error");
  for (const auto& p : parts.value())
    std::printf("%-24s %9d %14s %14lld %10lld %10lld %-14s %s\n", p.topic.c_str(), p.partition,
                p.log_end_offset >= 0 ? std::to_string(p.log_end_offset).c_str() : "?",
                static_cast<long long>(p.committed_offset), static_cast<long long>(p.lag),
                static_cast<long long>(p.lag_ms), lost_text(p.lost, false).c_str(),
                p.last_error.empty() ? "-" : p.last_error.c_str());
  return kExitOk;
}

int del(mirror_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  if (!dd->catalog()) return fail(Status::NotFound("mirror '" + o.name + "' does not exist (the data dir is empty)"));
  if (int pid = mirror::running_pid(*dd, o.name))
    return fail(Status::Busy("mirror " + o.name + " is running (pid " + std::to_string(pid) +
                             "); stop it first (SIGTERM), then delete it"));
  if (Status st = dd->catalog()->delete_mirror(o.name); !st.ok()) return fail(st);
  std::printf("deleted mirror %s (its progress; the destination's records stay)\n", o.name.c_str());
  return kExitOk;
}

}  // namespace

void add_mirror(CLI::App& app, context& ctx) {
  auto* cmd = app.add_subcommand("mirror", "forward topics to a Kafka cluster, or pull a cluster's topics here");
  cmd->require_subcommand(1);
  static mirror_opts o;
  auto bind = [&](CLI::App* c, int (*verb)(mirror_opts&, context&)) {
    c->callback([&ctx, verb] { ctx.run = [&ctx, verb] { return verb(o, ctx); }; });
  };

  auto* create_cmd = cmd->add_subcommand("create", "define a mirror (checks its -X properties)");
  create_cmd->add_option("name", o.name, "mirror name")->required();
  auto* to = create_cmd->add_option("--to", o.to, "forward local topics to this cluster (bootstrap HOST:PORT,...)");
  auto* from = create_cmd->add_option("--from", o.from, "pull this cluster's topics into local ones (bootstrap)");
  to->excludes(from);
  create_cmd->add_option("--topics", o.topics, "topics: a,b,c or /REGEX/ (whole name, ECMAScript)")->required();
  create_cmd->add_option("--prefix", o.prefix, "prepended to destination topic names (e.g. edge1.)");
  create_cmd->add_option("--start", o.start, "where a new mirror begins in each partition")
      ->check(CLI::IsMember({"earliest", "latest"}))
      ->default_str("earliest");
  create_cmd->add_option("-X", o.props, "librdkafka property key=value (repeatable): security, compression, acks, ...");
  bind(create_cmd, create);

  auto* run_cmd = cmd->add_subcommand("run", "forward up to the source's end and exit once confirmed (or --follow)");
  run_cmd->add_option("name", o.name, "mirror name")->required();
  run_cmd->add_flag("--follow", o.follow, "keep forwarding new records (stop with SIGTERM/SIGINT)");
  bind(run_cmd, run);

  auto* list_cmd = cmd->add_subcommand("list", "list mirrors: direction, bootstrap, topics");
  list_cmd->add_flag("--json", o.json, "machine-readable output");
  bind(list_cmd, list);

  auto* status_cmd = cmd->add_subcommand("status", "per source partition: end, confirmed, lag, last error, lost");
  status_cmd->add_option("name", o.name, "mirror name")->required();
  status_cmd->add_flag("--json", o.json, "machine-readable output");
  bind(status_cmd, status);

  auto* delete_cmd = cmd->add_subcommand("delete", "forget a mirror and its progress (the destination keeps its data)");
  delete_cmd->add_option("name", o.name, "mirror name")->required();
  bind(delete_cmd, del);
}

}  // namespace kappa::cli
