#include "processor/session_events.h"

#include <simdjson.h>

namespace kappa {

namespace od = simdjson::ondemand;

struct session_event_parser::impl {
  session_fields f;
  od::parser parser;
  std::string key_text, count_text;  // a non-string key's or count-by value's JSON text
};

session_event_parser::session_event_parser(session_fields f) : impl_(std::make_unique<impl>()) {
  impl_->f = std::move(f);
}
session_event_parser::~session_event_parser() = default;

// A string's contents, or a number's or boolean's JSON text.
static bool scalar_text(od::value v, std::string_view* out, std::string* scratch) {
  od::json_type t;
  if (v.type().get(t)) return false;
  if (t == od::json_type::string) return !v.get_string().get(*out);
  if (t == od::json_type::number || t == od::json_type::boolean) {
    std::string_view raw = v.raw_json_token();
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' || raw.back() == '\r'))
      raw.remove_suffix(1);
    *scratch = raw;
    *out = *scratch;
    return true;
  }
  return false;
}

session_event_parser::kind session_event_parser::parse(std::string_view line, session_event* e, int64_t* watermark,
                                                       std::string* why) {
  const session_fields& f = impl_->f;
  *e = session_event{};
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
  bool have_key = false, have_time = false;
  std::string field_error;
  for (auto field : obj) {
    std::string_view name;
    od::value v;
    if (field.unescaped_key().get(name) || field.value().get(v)) {
      *why = "malformed JSON object";
      return kind::malformed;
    }
    if (!f.watermark.empty() && name == f.watermark) {
      int64_t wm;
      if (v.get_int64().get(wm)) {
        *why = "field '" + f.watermark + "' is not an integer watermark (ms)";
        return kind::malformed;
      }
      *watermark = wm;
      return kind::punctuation;
    }
    if (name == f.key && !have_key) {
      if (!scalar_text(v, &e->key, &impl_->key_text) && field_error.empty())
        field_error = "field '" + f.key + "' is not a string, number or boolean";
      have_key = true;
    } else if (name == f.time && !have_time) {
      if (v.get_int64().get(e->time) || e->time < 0) {
        if (field_error.empty()) field_error = "field '" + f.time + "' is not a non-negative integer (ms)";
      }
      have_time = true;
    } else if (!f.count_by.empty() && name == f.count_by && !e->has_count_value) {
      e->has_count_value = scalar_text(v, &e->count_value, &impl_->count_text);
    } else if (!f.sum.empty() && name == f.sum && !e->has_sum) {
      od::number n;
      if (v.get_number().get(n)) {
        if (field_error.empty()) field_error = "field '" + f.sum + "' is not a number";
      } else if (n.is_int64()) {
        e->sum_int = n.get_int64();
        e->has_sum = true;
      } else {
        e->sum_float = n.as_double();
        e->sum_is_float = true;
        e->has_sum = true;
      }
    }
  }
  if (!field_error.empty()) {
    *why = field_error;
    return kind::malformed;
  }
  if (!have_key || !have_time) {
    *why = "field '" + (have_key ? f.time : f.key) + "' is missing";
    return kind::malformed;
  }
  return kind::event;
}

}  // namespace kappa
