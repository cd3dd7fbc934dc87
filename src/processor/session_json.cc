#include "processor/session_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "util/json_string.h"

namespace kappa {

static void append_int(std::string* out, int64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  out->append(b, r.ptr);
}

void append_session_json(const fired_session& s, const session_json_options& o, std::string* out) {
  out->append("{\"key\":");
  append_json_string(*out, s.key);
  out->append(",\"window_start\":");
  append_int(out, s.start);
  out->append(",\"window_end\":");
  append_int(out, s.end);
  out->append(",\"count\":");
  append_int(out, s.agg.count);
  if (o.counts) {
    std::vector<const std::pair<std::string, int64_t>*> sorted;
    for (const auto& c : s.agg.counts) sorted.push_back(&c);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    out->append(",\"counts\":{");
    for (size_t i = 0; i < sorted.size(); i++) {
      if (i) out->push_back(',');
      append_json_string(*out, sorted[i]->first);
      out->push_back(':');
      append_int(out, sorted[i]->second);
    }
    out->push_back('}');
  }
  if (o.sum) {
    out->append(",\"sum\":");
    if (!s.agg.sum_is_float) {
      append_int(out, s.agg.sum_int);
    } else if (!std::isfinite(s.agg.sum_float)) {
      out->append("null");  // JSON has no infinity
    } else {
      char b[32];
      auto r = std::to_chars(b, b + sizeof b, s.agg.sum_float);
      out->append(b, r.ptr);
    }
  }
  out->append(s.late_update ? ",\"late_update\":true}" : ",\"late_update\":false}");
}

}  // namespace kappa
