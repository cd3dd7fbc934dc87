#include "processor/session_events.h"

#include <simdjson.h>

#include <charconv>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "processor/key_table.h"

namespace kappa {

namespace od = simdjson::ondemand;

struct session_event_parser::impl {
  session_fields f;
  od::parser parser;
  simdjson::dom::parser validator;  // for lines the flat reader does not take
  // No configured name holds a quote or a backslash: in a line without a
  // backslash, names and strings can then be read in place, unescaped.
  bool plain_names = false;
  std::string time_text;  // the event time as text, when --count-by names the time field
};

static bool plain(const std::string& s) { return s.find_first_of("\"\\") == std::string::npos; }

session_event_parser::session_event_parser(session_fields f) : impl_(std::make_unique<impl>()) {
  impl_->plain_names = plain(f.key) && plain(f.time) && plain(f.count_by) && plain(f.sum) && plain(f.watermark);
  impl_->f = std::move(f);
}
session_event_parser::~session_event_parser() = default;

// The contents of a string with no escapes in it, in place (from just after
// its opening quote to its closing one).
static bool in_place(const char* raw, const char* limit, std::string_view* out) {
  const char* q = static_cast<const char*>(std::memchr(raw, '"', static_cast<size_t>(limit - raw)));
  if (!q) return false;
  *out = std::string_view(raw, static_cast<size_t>(q - raw));
  return true;
}

// A string's contents, or a number's or boolean's JSON text (in place).
static bool scalar_text(od::value v, bool escapes, const char* limit, std::string_view* out) {
  od::json_type t;
  if (v.type().get(t)) return false;
  if (t == od::json_type::string) {
    if (escapes) return !v.get_string().get(*out);
    od::raw_json_string raw;
    return !v.get_raw_json_string().get(raw) && in_place(raw.raw(), limit, out);
  }
  if (t == od::json_type::number || t == od::json_type::boolean) {
    std::string_view raw = v.raw_json_token();
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' || raw.back() == '\r'))
      raw.remove_suffix(1);
    *out = raw;
    return true;
  }
  return false;
}

namespace {

// What a parse has found so far; one field at a time goes through it, from
// either reader below, so both apply the same rules.
struct field_rules {
  const session_fields& f;
  session_event* e;
  bool have_key = false, have_time = false;
  std::string field_error;  // the first bad field; reported once the line is read
  std::string* time_text = nullptr;

  enum class step { next, punctuation, malformed };
  // What a field that ends the parse (a punctuation, a bad watermark) makes of the line.
  static session_event_parser::kind result(step st) {
    return st == step::punctuation ? session_event_parser::kind::punctuation : session_event_parser::kind::malformed;
  }

  // name == field, without a call for names of up to 16 bytes.
  [[gnu::always_inline]] static bool is(std::string_view name, const std::string& field) {
    return name.size() == field.size() && key_table::same_bytes(name.data(), field.data(), name.size());
  }

  // V reads one value: get_int64(int64_t*), scalar_text(string_view*) (a
  // string's contents or a number's or boolean's JSON text) and
  // number(int64_t*, double*) (0: not a number, 1: an integer, 2: not).
  template <class V>
  [[gnu::always_inline]] step field(std::string_view name, V& v, int64_t* watermark, std::string* why) {
    if (!f.watermark.empty() && is(name, f.watermark)) {
      if (!v.get_int64(watermark)) {
        *why = "field '" + f.watermark + "' is not an integer watermark (ms)";
        return step::malformed;
      }
      return step::punctuation;
    }
    if (is(name, f.key) && !have_key) {
      if (!v.scalar_text(&e->key) && field_error.empty())
        field_error = "field '" + f.key + "' is not a string, number or boolean";
      have_key = true;
    } else if (is(name, f.time) && !have_time) {
      if (!v.get_int64(&e->time) || e->time < 0) {
        if (field_error.empty()) field_error = "field '" + f.time + "' is not a non-negative integer (ms)";
      }
      have_time = true;
    } else if (!f.count_by.empty() && is(name, f.count_by) && !e->has_count_value) {
      e->has_count_value = v.scalar_text(&e->count_value);
    } else if (!f.sum.empty() && is(name, f.sum) && !e->has_sum) {
      switch (v.number(&e->sum_int, &e->sum_float)) {
        case 0:
          if (field_error.empty()) field_error = "field '" + f.sum + "' is not a number";
          break;
        case 1:
          e->has_sum = true;
          break;
        default:
          e->sum_is_float = true;
          e->has_sum = true;
      }
    }
    return step::next;
  }

  // A field read for one role that also serves another (--count-by or
  // --sum-field naming the key or time field, or each other): a value is
  // read once, for the first role, and the others take it from there.
  void share_roles() {
    if (!f.count_by.empty() && !e->has_count_value) {
      if (have_key && f.count_by == f.key) {
        e->count_value = e->key;
        e->has_count_value = true;
      } else if (have_time && f.count_by == f.time && time_text) {
        *time_text = std::to_string(e->time);
        e->count_value = *time_text;
        e->has_count_value = true;
      }
    }
    if (!f.sum.empty() && !e->has_sum) {
      std::string_view text;
      if (have_time && f.sum == f.time) {
        e->sum_int = e->time;
        e->has_sum = true;
        return;
      }
      if (have_key && f.sum == f.key)
        text = e->key;
      else if (e->has_count_value && f.sum == f.count_by)
        text = e->count_value;
      else
        return;
      const char* end = text.data() + text.size();
      if (auto r = std::from_chars(text.data(), end, e->sum_int); r.ec == std::errc() && r.ptr == end) {
        e->has_sum = true;
      } else if (auto d = std::from_chars(text.data(), end, e->sum_float); d.ec == std::errc() && d.ptr == end) {
        e->sum_is_float = true;
        e->has_sum = true;
      } else if (field_error.empty()) {
        field_error = "field '" + f.sum + "' is not a number";
      }
    }
  }

  session_event_parser::kind end(std::string* why) {
    share_roles();
    if (!field_error.empty()) {
      *why = field_error;
      return session_event_parser::kind::malformed;
    }
    if (!have_key || !have_time) {
      *why = "field '" + (have_key ? f.time : f.key) + "' is missing";
      return session_event_parser::kind::malformed;
    }
    return session_event_parser::kind::event;
  }
};

// A value as simdjson On-Demand reads it.
struct simdjson_value {
  od::value v;
  bool escapes;
  const char* limit;
  bool get_int64(int64_t* out) { return !v.get_int64().get(*out); }
  bool scalar_text(std::string_view* out) { return kappa::scalar_text(v, escapes, limit, out); }
  int number(int64_t* i, double* d) {
    od::number n;
    if (v.get_number().get(n)) return 0;
    if (n.is_int64()) {
      *i = n.get_int64();
      return 1;
    }
    *d = n.as_double();
    return 2;
  }
};

// The fast reader: a line that is one flat, compact object whose values
// are all plain strings (printable ASCII, no escapes) or integers of at
// most 18 digits, as event logs mostly are. Such a line is valid JSON that
// simdjson reads exactly so; any other line, valid or not, is left to
// simdjson (read_flat() returns false before any field is applied).
struct flat_value {  // no initializers: an array of these costs nothing to set up
  const char* text;  // the string's contents, or the integer's text
  uint32_t length;
  bool is_int;
  int64_t n;
  bool get_int64(int64_t* out) {
    if (!is_int) return false;
    *out = n;
    return true;
  }
  bool scalar_text(std::string_view* out) {
    *out = std::string_view(text, length);
    return true;
  }
  int number(int64_t* i, double*) {
    if (!is_int) return 0;
    *i = n;
    return 1;
  }
};

struct flat_field {
  const char* name;
  uint32_t name_length;
  flat_value value;
};
constexpr int kMaxFlatFields = 16;

// Fills fields[0, *n) from the line, or returns false if it is not of the
// fast reader's kind. One pass over the line (16 bytes at a time: the line
// has 64 readable bytes after it, parse()'s REQUIRES) finds its quotes and
// digits and refuses any byte that is not printable ASCII or that is a
// backslash; the walk over the structure then jumps from quote to quote.
constexpr size_t kMaxFlatLine = 256;

// The value of 8 ASCII digits, all at once (SWAR: pairs, then quads).
int64_t eight_digits(const char* p) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  std::memcpy(&v, p, 8);  // the first digit is the low byte
  v -= 0x3030303030303030ull;
  v = (v * 10 + (v >> 8)) & 0x00ff00ff00ff00ffull;
  v = (v * 100 + (v >> 16)) & 0x0000ffff0000ffffull;
  v = (v * 10000 + (v >> 32)) & 0x00000000ffffffffull;
  return static_cast<int64_t>(v);
#else
  int64_t v = 0;
  for (int i = 0; i < 8; i++) v = v * 10 + (p[i] - '0');
  return v;
#endif
}

bool read_flat(std::string_view line, flat_field* fields, int* n) {
  const char* p = line.data();
  size_t len = line.size();
  *n = 0;
  if (len < 2 || len > kMaxFlatLine || p[0] != '{') return false;
  constexpr size_t kWords = kMaxFlatLine / 64;
  uint64_t quotes[kWords] = {};
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
  for (size_t i = 0; i < len; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    uint32_t in_line = len - i >= 16 ? 0xffffu : (1u << (len - i)) - 1;
    // Below 0x20 as signed bytes: control bytes, and every non-ASCII one.
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, space),
                               _mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmpeq_epi8(v, backslash)));
    if (static_cast<uint32_t>(_mm_movemask_epi8(bad)) & in_line) return false;
    uint32_t q = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote))) & in_line;
    quotes[i / 64] |= static_cast<uint64_t>(q) << (i % 64);
  }
#else
  for (size_t i = 0; i < len; i++) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c > 0x7e || c == '\\') return false;
    if (c == '"') quotes[i / 64] |= uint64_t{1} << (i % 64);
  }
#endif
  // The walk meets the quotes in order (no escapes: each one opens or
  // closes a string), so it takes them off the front of the mask.
  size_t word = 0;
  auto next_quote = [&]() -> size_t {
    while (word < kWords && quotes[word] == 0) word++;
    if (word == kWords) return kMaxFlatLine;
    size_t at = word * 64 + static_cast<size_t>(__builtin_ctzll(quotes[word]));
    quotes[word] &= quotes[word] - 1;
    return at;
  };
  size_t i = 1;
  if (p[i] == '}') return len == 2;
  for (;;) {
    if (*n == kMaxFlatFields || next_quote() != i) return false;  // a name opens here
    flat_field& fl = fields[(*n)++];
    size_t q = next_quote();
    if (q >= len) return false;
    fl.name = p + i + 1;
    fl.name_length = static_cast<uint32_t>(q - i - 1);
    i = q + 1;
    if (i + 1 >= len || p[i] != ':') return false;
    i++;
    if (p[i] == '"') {
      next_quote();  // this one
      q = next_quote();
      if (q >= len) return false;
      fl.value.is_int = false;
      fl.value.text = p + i + 1;
      fl.value.length = static_cast<uint32_t>(q - i - 1);
      i = q + 1;
    } else {
      size_t start = i;
      bool negative = p[i] == '-';
      if (negative) i++;
      size_t end = i;
      while (end < len && static_cast<unsigned char>(p[end] - '0') < 10) end++;
      size_t count = end - i;
      // No leading zero (nor -0), no fraction or exponent, no overflow.
      if (count == 0 || count > 18 || (p[i] == '0' && (count > 1 || negative))) return false;
      int64_t v = 0;
      for (; (end - i) % 8 != 0; i++) v = v * 10 + (p[i] - '0');
      for (; i < end; i += 8) v = v * 100000000 + eight_digits(p + i);
      fl.value.is_int = true;
      fl.value.n = negative ? -v : v;
      fl.value.text = p + start;
      fl.value.length = static_cast<uint32_t>(end - start);
    }
    if (i >= len) return false;
    char c = p[i++];
    if (c == '}') return i == len;
    if (c != ',') return false;
  }
}

}  // namespace

session_event_parser::kind session_event_parser::parse(std::string_view line, session_event* e, int64_t* watermark,
                                                       std::string* why) {
  *e = session_event{};
  field_rules rules{impl_->f, e, false, false, {}, &impl_->time_text};
  if (impl_->plain_names) {
    flat_field fields[kMaxFlatFields];
    int n;
    if (read_flat(line, fields, &n)) {
      for (int i = 0; i < n; i++) {
        std::string_view name(fields[i].name, fields[i].name_length);
        auto step = rules.field(name, fields[i].value, watermark, why);
        if (step != field_rules::step::next) return field_rules::result(step);
      }
      return rules.end(why);
    }
  }
  // Every other line is checked whole first (On-Demand alone would take a
  // line whose damage lies in a field it skips, or after the object).
  if (auto err = impl_->validator.parse(line.data(), line.size(), false).error()) {
    *why = std::string("malformed JSON (") + simdjson::error_message(err) + ")";
    return kind::malformed;
  }
  od::document doc;
  if (auto err = impl_->parser.iterate(line.data(), line.size(), line.size() + simdjson::SIMDJSON_PADDING).get(doc)) {
    *why = std::string("malformed JSON (") + simdjson::error_message(err) + ")";
    return kind::malformed;
  }
  od::object obj;
  if (doc.get_object().get(obj)) {
    *why = "the line is not a JSON object";
    return kind::malformed;
  }
  // Escapes are rare: a line without a backslash is read in place.
  bool escapes = !impl_->plain_names || std::memchr(line.data(), '\\', line.size()) != nullptr;
  const char* limit = line.data() + line.size();
  for (auto field : obj) {
    std::string_view name;
    simdjson_value v{{}, escapes, limit};
    bool bad_name;
    if (escapes) {
      bad_name = field.unescaped_key().get(name) != simdjson::SUCCESS;
    } else {
      od::raw_json_string raw;
      bad_name = field.key().get(raw) || !in_place(raw.raw(), limit, &name);
    }
    if (bad_name || field.value().get(v.v)) {
      *why = "malformed JSON object";
      return kind::malformed;
    }
    auto step = rules.field(name, v, watermark, why);
    if (step != field_rules::step::next) return field_rules::result(step);
  }
  return rules.end(why);
}

}  // namespace kappa
