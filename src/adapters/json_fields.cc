#include "adapters/json_fields.h"

#include <simdjson.h>

#include "adapters/line_reader.h"

namespace kappa {

struct json_fields::impl {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  std::string scratch;
};

json_fields::json_fields() : impl_(std::make_unique<impl>()) {}
json_fields::~json_fields() = default;

bool json_fields::parse(std::string_view line, std::string* why) {
  static_assert(kLinePadding >= simdjson::SIMDJSON_PADDING);
  simdjson::dom::element doc;
  auto err = impl_->parser.parse(line.data(), line.size(), false).get(doc);
  if (err) {
    *why = std::string("malformed JSON (") + simdjson::error_message(err) + ")";
    return false;
  }
  if (doc.get_object().get(impl_->obj)) {
    *why = "the line is JSON but not an object";
    return false;
  }
  return true;
}

bool json_fields::key(std::string_view field, std::string_view* out, std::string* why) {
  simdjson::dom::element e;
  if (impl_->obj.at_key(field).get(e)) {
    *why = "field '" + std::string(field) + "' is missing";
    return false;
  }
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: *out = e.get_string().value_unsafe(); return true;
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
    case simdjson::dom::element_type::BOOL:
      impl_->scratch = simdjson::minify(e);
      *out = impl_->scratch;
      return true;
    case simdjson::dom::element_type::NULL_VALUE: *why = "field '" + std::string(field) + "' is null"; return false;
    default: *why = "field '" + std::string(field) + "' is an object or array, not a key"; return false;
  }
}

bool json_fields::integer(std::string_view field, int64_t* out, std::string* why) {
  simdjson::dom::element e;
  if (impl_->obj.at_key(field).get(e)) {
    *why = "field '" + std::string(field) + "' is missing";
    return false;
  }
  if (e.type() == simdjson::dom::element_type::INT64) {
    *out = e.get_int64().value_unsafe();
    if (*out < 0) {
      *why = "field '" + std::string(field) + "' is negative (" + std::to_string(*out) +
             "); timestamps are milliseconds since the epoch";
      return false;
    }
    return true;
  }
  if (e.type() == simdjson::dom::element_type::UINT64) {
    *why = "field '" + std::string(field) + "' is too large for a millisecond timestamp";
    return false;
  }
  *why = "field '" + std::string(field) + "' is not an integer (milliseconds expected)";
  return false;
}

}  // namespace kappa
