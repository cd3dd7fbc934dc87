#include "mirror/topic_filter.h"

#include <algorithm>

#include "log/topic_name.h"

namespace kappa::mirror_detail {

Result<topic_filter> topic_filter::parse(const std::string& spec) {
  topic_filter f;
  if (spec.size() >= 2 && spec.front() == '/' && spec.back() == '/') {
    f.regex_ = true;
    try {
      f.re_ = std::regex(spec.substr(1, spec.size() - 2), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Status::Invalid("--topics " + spec + ": not a valid regular expression (" + e.what() + ")");
    }
    return f;
  }
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    std::string name = spec.substr(pos, comma - pos);
    pos = comma + 1;
    if (name.empty()) continue;
    if (Status st = validate_topic_name(name); !st.ok())
      return Status::Invalid("--topics: '" + name + "' is not a topic name (" + st.message() +
                             "); write a regular expression as /REGEX/");
    if (std::find(f.names_.begin(), f.names_.end(), name) == f.names_.end()) f.names_.push_back(name);
  }
  if (f.names_.empty()) return Status::Invalid("--topics is empty: name topics (a,b,c) or give /REGEX/");
  return f;
}

bool topic_filter::matches(const std::string& topic) const {
  if (!regex_) return std::find(names_.begin(), names_.end(), topic) != names_.end();
  // A regex never picks Kafka's internal topics (__consumer_offsets, ...), as MirrorMaker 2 excludes them.
  if (topic.rfind("__", 0) == 0) return false;
  return std::regex_match(topic, re_);
}

}  // namespace kappa::mirror_detail
