// kappa: a single-box Kafka-format log. This file wires the verbs together;
// each verb lives in its own cmd_*.cc.
#include <csignal>
#include <cstdio>

#include <lmdb.h>
#include <simdjson.h>

#include "cli/cli_common.h"
#include "io/io_backend.h"
#include "kappa_version.h"

using namespace kappa::cli;

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout reader is an EPIPE we handle
  context ctx;
  CLI::App app{"kappa: a Kafka-format event log and stream processor on one box, with no cluster."};
  app.name("kappa");
  app.fallthrough();
  app.require_subcommand(0, 1);
  app.option_defaults()->always_capture_default();
  bool version = false, verbose = false;
  app.add_option("--data-dir", ctx.data_dir_flag, "data directory (default: $KAPPA_DATA_DIR, else ./kappa-data)");
  app.add_flag("--version", version, "print the version and exit");
  app.add_flag("-v,--verbose", verbose, "with --version: also the I/O backend and library versions");
  add_topic(app, ctx);
  add_produce(app, ctx);
  add_consume(app, ctx);
  add_group(app, ctx);
  add_verify(app, ctx);
  add_dump(app, ctx);
  add_maintain(app, ctx);
  add_config(app, ctx);
  add_sessionize(app, ctx);
  add_compare(app, ctx);
  add_job(app, ctx);
  add_alias(app, ctx);
  add_serve(app, ctx);
  add_mirror(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kappa: error: %s (see kappa --help)\n", e.what());
    return kExitUsage;
  }
  if (version) {
    std::printf("kappa %s\n", KAPPA_VERSION);
    if (verbose) {
      std::printf("io backend: %s\n", kappa::probe_io_backend_name());
      std::printf("%s\nsimdjson %s kernel\n", MDB_VERSION_STRING,
                  simdjson::get_active_implementation()->name().c_str());
    }
    return kExitOk;
  }
  if (!ctx.run) {
    std::fputs(app.help().c_str(), stderr);
    return kExitUsage;
  }
  return ctx.run();
}
