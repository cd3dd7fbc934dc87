// Which topics a mirror forwards: a comma-separated list of names, or
// /REGEX/ (ECMAScript syntax) that must match the whole name.
#pragma once

#include <regex>
#include <string>
#include <vector>

#include "kappa/status.h"

namespace kappa::mirror_detail {

class topic_filter {
 public:
  // Invalid, naming the problem, for an empty list, a bad name or a regex
  // that does not compile.
  static Result<topic_filter> parse(const std::string& spec);
  bool matches(const std::string& topic) const;
  bool is_regex() const { return regex_; }
  // The listed names (empty for a regex).
  const std::vector<std::string>& names() const { return names_; }

 private:
  bool regex_ = false;
  std::regex re_;
  std::vector<std::string> names_;
};

}  // namespace kappa::mirror_detail
