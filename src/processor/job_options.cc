#include "processor/job_options.h"

#include <algorithm>
#include <charconv>

#include "util/duration.h"

namespace kappa {

const std::vector<job_option_def>& job_option_defs() {
  static const std::vector<job_option_def> defs = {
      {"input", "input topic (or alias) of JSON events", true, ""},
      {"key-field", "JSON field holding the session key", true, ""},
      {"time-field", "JSON field holding the event time (ms since the epoch)", true, ""},
      {"gap", "session gap: 250ms, 30s, 30m, 2h, 1d or ms", true, ""},
      {"max-out-of-orderness", "watermark = max event time - this - 1 (bounded out-of-orderness)", false, "0"},
      {"allowed-lateness", "keep fired windows this long past the watermark; later events update them", false, "0"},
      {"count-by", "count each session's events by the values of this field", false, ""},
      {"sum-field", "sum this numeric field per session", false, ""},
      {"watermark-field", "a record with this field is a punctuation: it sets the watermark", false, ""},
      {"idle-timeout",
       "a partition quiet for longer (by its records' timestamps) has its watermark advanced by the excess, so its "
       "last sessions close (0: off)",
       false, "0"},
      {"late-output", "base name of the late and malformed records' topic: version N writes LATE.vN", false, ""},
      {"from", "where version 1 starts: earliest or latest (a reprocessed version always replays from earliest)", false,
       "earliest"},
      {"checkpoint-interval", "how often each partition checkpoints", false, "1s"},
      {"threads", "worker threads for the input partitions (0: one per core)", false, "0"},
  };
  return defs;
}

namespace {

bool is_duration(const std::string& name) {
  return name == "gap" || name == "max-out-of-orderness" || name == "allowed-lateness" ||
         name == "checkpoint-interval" || name == "idle-timeout";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> option_lines(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> kv;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    size_t eq = text.find('=', pos);
    if (eq < nl) kv.emplace_back(text.substr(pos, eq - pos), text.substr(eq + 1, nl - eq - 1));
    pos = nl + 1;
  }
  return kv;
}

namespace {

// The value as stored: durations in their shortest spelling, the rest checked.
Result<std::string> canonical(const std::string& name, const std::string& value) {
  std::string option = "--" + name;
  if (is_duration(name)) {
    KAPPA_ASSIGN_OR_RETURN(int64_t ms, parse_duration(value, option));
    if (ms <= 0 && (name == "gap" || name == "checkpoint-interval"))
      return Status::Invalid(option + " must be greater than 0");
    return format_duration(ms);
  }
  if (name == "from" && value != "earliest" && value != "latest")
    return Status::Invalid("invalid " + option + " value '" + value + "': expected earliest or latest");
  if (name == "threads") {
    int n = -1;
    auto r = std::from_chars(value.data(), value.data() + value.size(), n);
    if (r.ec != std::errc() || r.ptr != value.data() + value.size() || n < 0 || n > 1024)
      return Status::Invalid("invalid --threads value '" + value + "': expected a number from 0 to 1024");
  }
  if (value.find('\n') != std::string::npos) return Status::Invalid(option + " must not contain a newline");
  return value;
}

}  // namespace

Status set_job_option(std::string* text, const std::string& name, const std::string& value) {
  const auto& defs = job_option_defs();
  auto def = std::find_if(defs.begin(), defs.end(), [&](const job_option_def& d) { return name == d.name; });
  if (def == defs.end()) {
    std::string known;
    for (const auto& d : defs) known += (known.empty() ? "" : ", ") + std::string(d.name);
    return Status::Invalid("unknown job option '" + name + "': a job version's options are " + known);
  }
  if (value.empty() && def->required) return Status::Invalid("--" + name + " is required and cannot be empty");
  std::string v;
  if (!value.empty()) {
    KAPPA_ASSIGN_OR_RETURN(v, canonical(name, value));
  }
  auto kv = option_lines(*text);
  kv.erase(std::remove_if(kv.begin(), kv.end(), [&](const auto& e) { return e.first == name; }), kv.end());
  if (!v.empty()) kv.emplace_back(name, v);
  // Rewritten in the order of the table, so equal options give equal text.
  std::string out;
  for (const auto& d : defs)
    for (const auto& [k, val] : kv)
      if (k == d.name) out += k + "=" + val + "\n";
  *text = out;
  return Status::OK();
}

std::string job_option(const std::string& text, const std::string& name) {
  for (const auto& [k, v] : option_lines(text))
    if (k == name) return v;
  return "";
}

Result<session_job_options> job_options_from(const std::string& text) {
  session_job_options o;
  for (const auto& d : job_option_defs())
    if (d.required && job_option(text, d.name).empty())
      return Status::Invalid(std::string("the job has no --") + d.name + ", which a job needs");
  for (const auto& [k, v] : option_lines(text)) {
    if (is_duration(k)) {
      KAPPA_ASSIGN_OR_RETURN(int64_t ms, parse_duration(v, "--" + k));
      if (k == "gap") o.gap_ms = ms;
      if (k == "max-out-of-orderness") o.max_out_of_orderness_ms = ms;
      if (k == "allowed-lateness") o.allowed_lateness_ms = ms;
      if (k == "checkpoint-interval") o.checkpoint_interval_ms = ms;
      if (k == "idle-timeout") o.idle_timeout_ms = ms;
    } else if (k == "input") {
      o.input = v;
    } else if (k == "key-field") {
      o.key_field = v;
    } else if (k == "time-field") {
      o.time_field = v;
    } else if (k == "count-by") {
      o.count_by = v;
    } else if (k == "sum-field") {
      o.sum_field = v;
    } else if (k == "watermark-field") {
      o.watermark_field = v;
    } else if (k == "late-output") {
      o.late_output = v;
    } else if (k == "from") {
      o.from_latest = v == "latest";
    } else if (k == "threads") {
      o.threads = std::atoi(v.c_str());
    }
  }
  return o;
}

}  // namespace kappa
