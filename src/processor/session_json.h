// The value of a session record (SPEC section 5):
//   {"key":K,"window_start":S,"window_end":E,"count":N,"counts":{...},
//    "sum":X,"late_update":false}
// "counts" only with --count-by (values in byte order, so the text never
// depends on event order), "sum" only with --sum-field (integers stay
// integers; a float sum is written in its shortest round-trip form, always
// as a float: 3.0, 1.5e+07).
#pragma once

#include <string>

#include "processor/session_windows.h"

namespace kappa {

struct session_json_options {
  bool counts = false;  // --count-by given
  bool sum = false;     // --sum-field given
};

// Appends the JSON value of `s` to *out. s.counts in byte order of the
// values, as session_windows gives them (others are sorted here, slower).
void append_session_json(const fired_session& s, const session_json_options& o, std::string* out);

}  // namespace kappa
