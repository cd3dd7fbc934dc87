// Turns a JSON line into a session event. The fields are those of `kappa
// sessionize`: --key-field, --time-field, --count-by, --sum-field and
// --watermark-field.
//
// Two readers, one set of field rules: a line that is one compact, flat
// object of plain strings (printable ASCII, no escapes) and integers (at
// most 18 digits), as event logs mostly are, is read by a small SSE2
// scanner; any other line, valid or not, by simdjson On-Demand (one pass
// over the top-level fields, nothing else materialised). The scanner
// takes about two thirds of simdjson's time on the benchmark's lines; for
// every line it takes, simdjson gives the same result (a unit test checks
// this on generated and damaged lines).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "processor/session_windows.h"

namespace kappa {

struct session_fields {
  std::string key, time;
  std::string count_by, sum, watermark;  // empty = not used
};

class session_event_parser {
 public:
  explicit session_event_parser(session_fields f);
  ~session_event_parser();

  enum class kind {
    event,        // *e is filled; its strings live until the next parse(), and
                  // no longer than the line (they may point into it)
    punctuation,  // a --watermark-field record: *watermark is set
    malformed,    // *why says what is wrong (missing or bad key/time field, bad JSON)
  };
  // REQUIRES: 64 readable bytes after the line (simdjson's padding), as
  // the log reader and the line reader guarantee.
  kind parse(std::string_view line, session_event* e, int64_t* watermark, std::string* why);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kappa
