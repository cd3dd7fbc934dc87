// Turns a JSON line into a session event (simdjson On-Demand: one pass over
// the object's top-level fields, nothing else materialised). The fields are
// those of `kappa sessionize`: --key-field, --time-field, --count-by,
// --sum-field and --watermark-field.
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
    event,        // *e is filled; its strings live until the next parse() (and the line)
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
