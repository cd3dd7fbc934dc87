// Shared by the verbs: the global options, error reporting with the exit
// codes of SPEC section 7, and parsing of values common to several verbs.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kappa/data_dir.h"
#include "kappa/status.h"

namespace kappa::cli {

inline constexpr int kExitOk = 0, kExitRuntime = 1, kExitUsage = 2;

struct context {
  std::string data_dir_flag;
  std::function<int()> run;  // the selected verb
  std::string data_dir_path() const;
  // Opens the data dir (create: make it if missing). Errors are printed.
  std::unique_ptr<kappa::data_dir> open(bool create, int* exit_code) const;
};

// Prints "kappa: error: <message>" and returns the exit code for it:
// 2 for Invalid (a usage problem), else 1.
int fail(const Status& st);
int usage_error(const std::string& msg);
void note(const std::string& msg);  // "kappa: <msg>" on stderr

int64_t now_ms();

// --from / --to values: earliest | latest | OFFSET | -N | @TIMESTAMP_MS.
struct start_spec {
  enum kind { earliest, latest, offset, from_end, timestamp } k = earliest;
  int64_t v = 0;
};
Result<start_spec> parse_start(const std::string& s, const char* option);
bool parse_int(const std::string& s, int64_t* out);

// Registration of each verb (cmd_*.cc).
void add_topic(CLI::App& app, context& ctx);
void add_produce(CLI::App& app, context& ctx);
void add_consume(CLI::App& app, context& ctx);
void add_group(CLI::App& app, context& ctx);
void add_verify(CLI::App& app, context& ctx);
void add_dump(CLI::App& app, context& ctx);
void add_maintain(CLI::App& app, context& ctx);
void add_config(CLI::App& app, context& ctx);
void add_sessionize(CLI::App& app, context& ctx);
void add_compare(CLI::App& app, context& ctx);
void add_job(CLI::App& app, context& ctx);
void add_alias(CLI::App& app, context& ctx);
void add_serve(CLI::App& app, context& ctx);
void add_mirror(CLI::App& app, context& ctx);

}  // namespace kappa::cli
