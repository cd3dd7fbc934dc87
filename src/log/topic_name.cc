#include "log/topic_name.h"

#include <string>

namespace kappa {

Status validate_topic_name(std::string_view name) {
  std::string shown(name.substr(0, 60));
  if (name.size() > 60) shown += "...";
  const char* rule = "topic names are 1-249 characters of [A-Za-z0-9._-], other than '.' and '..'";
  if (name.empty()) return Status::Invalid(std::string("empty topic name: ") + rule);
  if (name.size() > 249)
    return Status::Invalid("topic name '" + shown + "' is " + std::to_string(name.size()) + " characters: " + rule);
  if (name == "." || name == "..") return Status::Invalid("topic name '" + shown + "' is not allowed: " + rule);
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return Status::Invalid("invalid topic name '" + shown + "': " + rule);
  }
  return Status::OK();
}

}  // namespace kappa
