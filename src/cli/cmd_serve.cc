// kappa serve: the data dir as a Kafka broker (src/broker/server.h).
#include <csignal>

#include "broker/server.h"
#include "cli/cli_common.h"

namespace kappa::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct serve_opts {
  broker::server_options server;
  bool no_auto_create = false;
};

int serve(const serve_opts& o, context& ctx) {
  int rc = 0;
  auto dd = ctx.open(true, &rc);
  if (!dd) return rc;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  broker::server_options so = o.server;
  so.auto_create = !o.no_auto_create;
  Status st = broker::serve(*dd, so, &g_stop);
  if (!st.ok()) return fail(st);
  note("stopped: answered what was received and synced the log");
  return kExitOk;
}

}  // namespace

void add_serve(CLI::App& app, context& ctx) {
  static serve_opts o;
  auto* cmd = app.add_subcommand("serve", "serve the data dir to Kafka clients (a one-node Kafka broker)");
  cmd->add_option("--listen", o.server.listen, "HOST:PORT to listen on")->capture_default_str();
  cmd->add_option("--advertise", o.server.advertise, "HOST:PORT clients are told to connect to (default: --listen's)");
  cmd->add_option("--metrics", o.server.metrics, "HOST:PORT to serve Prometheus metrics on, at /metrics (default: none)");
  cmd->add_option("--max-connections", o.server.max_connections, "connections past this are closed at once")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_flag("--jobs", o.server.jobs,
                "also run every job's serving version, following its input (as `kappa job run NAME --follow`)");
  cmd->add_flag("--no-auto-create", o.no_auto_create,
                "do not create topics a client's Metadata or Produce names (Kafka's auto.create.topics.enable=false)");
  cmd->callback([&] { ctx.run = [&] { return serve(o, ctx); }; });
}

}  // namespace kappa::cli
