#include "cli/cli_common.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "util/clock.h"

namespace kappa::cli {

std::string context::data_dir_path() const {
  if (!data_dir_flag.empty()) return data_dir_flag;
  if (const char* env = std::getenv("KAPPA_DATA_DIR"); env && *env) return env;
  return "./kappa-data";
}

std::unique_ptr<kappa::data_dir> context::open(bool create, int* exit_code) const {
  auto d = kappa::data_dir::open(data_dir_path(), create);
  if (!d.ok()) {
    *exit_code = fail(d.status().with_context("data dir " + data_dir_path()));
    return nullptr;
  }
  return std::move(d.value());
}

int fail(const Status& st) {
  std::fprintf(stderr, "kappa: error: %s\n", st.message().c_str());
  return st.is_invalid() ? kExitUsage : kExitRuntime;
}

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "kappa: error: %s (see --help)\n", msg.c_str());
  return kExitUsage;
}

void note(const std::string& msg) { std::fprintf(stderr, "kappa: %s\n", msg.c_str()); }

int64_t now_ms() { return wall_clock_ms(); }

bool parse_int(const std::string& s, int64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

Result<start_spec> parse_start(const std::string& s, const char* option) {
  start_spec sp;
  int64_t n;
  if (s == "earliest" || s == "beginning")
    sp.k = start_spec::earliest;
  else if (s == "latest" || s == "end")
    sp.k = start_spec::latest;
  else if (s.size() > 1 && s[0] == '@' && parse_int(s.substr(1), &n))
    sp = {start_spec::timestamp, n};
  else if (s.size() > 1 && s[0] == '-' && parse_int(s.substr(1), &n) && n >= 0)
    sp = {start_spec::from_end, n};
  else if (parse_int(s, &n) && n >= 0)
    sp = {start_spec::offset, n};
  else
    return Status::Invalid(std::string("invalid ") + option + " value '" + s +
                           "': expected earliest, latest, an offset, -N (N before the end) or @TIMESTAMP_MS");
  return sp;
}

}  // namespace kappa::cli
