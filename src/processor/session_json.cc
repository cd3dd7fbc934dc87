#include "processor/session_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

#include "util/json_string.h"

namespace kappa {

static void append_int(std::string* out, int64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  out->append(b, r.ptr);
}

// A JSON string: as is when every byte is printable ASCII other than a
// quote or backslash (as keys and event types mostly are), which is what
// append_json_string() writes for such bytes too, only slower.
static void append_string(std::string* out, std::string_view s) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
      append_json_string(*out, s);
      return;
    }
  }
  out->push_back('"');
  out->append(s);
  out->push_back('"');
}

static bool is_plain(std::string_view s) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
  }
  return true;
}

template <size_t N>
static char* put(char* p, const char (&text)[N]) {
  std::memcpy(p, text, N - 1);
  return p + N - 1;
}

static char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// The common record (plain key and values, counts in byte order, no float
// sum), written straight into out's bytes: the appends of the general
// writer below cost as much as the rest of a session's work. False, with
// out unchanged, for any other record.
static bool append_plain(const fired_session& s, const session_json_options& o, std::string* out) {
  if ((o.sum && s.sum_is_float) || !is_plain(s.key)) return false;
  size_t bound = 192 + s.key.size();  // the names and quotes (89 bytes), four integers of up to 20
  if (o.counts) {
    for (size_t i = 0; i < s.counts.size(); i++) {
      if (!is_plain(s.counts[i].value) || (i && !(s.counts[i - 1].value < s.counts[i].value))) return false;
      bound += s.counts[i].value.size() + 24;
    }
  }
  size_t at = out->size();
  out->resize(at + bound);
  char* p = out->data() + at;
  char* end = p + bound;
  p = put(p, "{\"key\":\"");
  p = put(p, s.key);
  p = put(p, "\",\"window_start\":");
  p = std::to_chars(p, end, s.start).ptr;
  p = put(p, ",\"window_end\":");
  p = std::to_chars(p, end, s.end).ptr;
  p = put(p, ",\"count\":");
  p = std::to_chars(p, end, s.count).ptr;
  if (o.counts) {
    p = put(p, ",\"counts\":{");
    for (size_t i = 0; i < s.counts.size(); i++) {
      if (i) *p++ = ',';
      *p++ = '"';
      p = put(p, s.counts[i].value);
      *p++ = '"';
      *p++ = ':';
      p = std::to_chars(p, end, s.counts[i].count).ptr;
    }
    *p++ = '}';
  }
  if (o.sum) {
    p = put(p, ",\"sum\":");
    p = std::to_chars(p, end, s.sum_int).ptr;
  }
  if (s.late_update)
    p = put(p, ",\"late_update\":true}");
  else
    p = put(p, ",\"late_update\":false}");
  out->resize(static_cast<size_t>(p - out->data()));
  return true;
}

void append_session_json(const fired_session& s, const session_json_options& o, std::string* out) {
  if (append_plain(s, o, out)) return;
  out->append("{\"key\":");
  append_string(out, s.key);
  out->append(",\"window_start\":");
  append_int(out, s.start);
  out->append(",\"window_end\":");
  append_int(out, s.end);
  out->append(",\"count\":");
  append_int(out, s.count);
  if (o.counts) {
    auto by_value = [](const value_count& a, const value_count& b) { return a.value < b.value; };
    std::span<const value_count> counts = s.counts;
    std::vector<value_count> sorted;  // only for a caller that did not sort them
    if (!std::is_sorted(counts.begin(), counts.end(), by_value)) {
      sorted.assign(counts.begin(), counts.end());
      std::sort(sorted.begin(), sorted.end(), by_value);
      counts = sorted;
    }
    out->append(",\"counts\":{");
    for (size_t i = 0; i < counts.size(); i++) {
      if (i) out->push_back(',');
      append_string(out, counts[i].value);
      out->push_back(':');
      append_int(out, counts[i].count);
    }
    out->push_back('}');
  }
  if (o.sum) {
    out->append(",\"sum\":");
    if (!s.sum_is_float) {
      append_int(out, s.sum_int);
    } else if (!std::isfinite(s.sum_float)) {
      out->append("null");  // JSON has no infinity
    } else {
      // The shortest text that reads back as the same double, and always
      // reads as a float (3.0, not 3): fixed notation in [1e-3, 1e7), as
      // Java's Double.toString, else with an exponent.
      char b[64];
      double a = std::fabs(s.sum_float);
      bool fixed = a == 0 || (a >= 1e-3 && a < 1e7);
      auto r = std::to_chars(b, b + sizeof b, s.sum_float,
                             fixed ? std::chars_format::fixed : std::chars_format::scientific);
      out->append(b, r.ptr);
      if (fixed && std::find(b, r.ptr, '.') == r.ptr) out->append(".0");
    }
  }
  out->append(s.late_update ? ",\"late_update\":true}" : ",\"late_update\":false}");
}

}  // namespace kappa
