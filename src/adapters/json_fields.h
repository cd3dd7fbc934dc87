// Pulls top-level fields out of one JSON line (simdjson, DOM parser so the
// whole line is validated, not only the part before the field).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kappa {

class json_fields {
 public:
  json_fields();
  ~json_fields();

  // Parses `line`. REQUIRES: kLinePadding readable bytes after it (as
  // line_reader guarantees). False with *why set if it is not a JSON object.
  bool parse(std::string_view line, std::string* why);
  // The field as a record key: a string's contents, or a number's or a
  // boolean's JSON text. False (with *why) when missing, null, or nested.
  bool key(std::string_view field, std::string_view* out, std::string* why);
  // The field as integer milliseconds.
  bool integer(std::string_view field, int64_t* out, std::string* why);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kappa
