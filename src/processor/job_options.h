// A job version's sessionize options as text (`kappa job`): one
// "name=value" line per option that is set, named as sessionize's flags
// without the dashes, in a fixed order, durations in their shortest
// spelling. It is what `job create` stores, `job reprocess --set` changes
// and `job run` turns back into session_job_options; equal texts mean equal
// jobs.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kappa/session_job.h"
#include "kappa/status.h"

namespace kappa {

struct job_option_def {
  const char* name;  // "gap" for --gap
  const char* help;
  bool required;
  const char* default_text;  // what an unset optional one means ("" if nothing)
};

// Every option a job version can have, in text order. The output topic and
// the group are not among them: a job's version decides those.
const std::vector<job_option_def>& job_option_defs();

// Sets option `name` in `text` to `value` (an empty value removes an
// optional one). Invalid, naming the option, for an unknown name, a bad
// value or an empty required one.
Status set_job_option(std::string* text, const std::string& name, const std::string& value);

// The "name=value" lines of an options text, in order (lines without '='
// are skipped). Also what a job checkpoint's options text is made of.
std::vector<std::pair<std::string, std::string>> option_lines(const std::string& text);

// The value of option `name` in `text`, "" if it is not set.
std::string job_option(const std::string& text, const std::string& name);

// The options in `text` as session_job_options (output and group left
// empty); Invalid if a required option is missing.
Result<session_job_options> job_options_from(const std::string& text);

}  // namespace kappa
