// kappa/topic_config.h — topic configs: Kafka's names, defaults and value rules.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kappa/log.h"
#include "kappa/status.h"

namespace kappa {

struct config_def {
  const char* name;
  const char* default_value;
  const char* doc;
};

// Every topic config kappa knows, in display order.
const std::vector<config_def>& topic_config_defs();

// Checks a key=value pair: Invalid naming the key and the rule when the key
// is unknown or the value out of range.
Status validate_topic_config(std::string_view key, std::string_view value);

// Data-dir settings (`kappa config`), e.g. max.bytes, in display order, and
// their value rules.
const std::vector<config_def>& data_dir_setting_defs();
Status validate_data_dir_setting(std::string_view key, std::string_view value);

// Explicit settings of one topic, with Kafka's defaults underneath.
class topic_config {
 public:
  topic_config() = default;
  explicit topic_config(std::map<std::string, std::string> explicit_settings) : set_(std::move(explicit_settings)) {}

  const std::string& get(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  // All effective values (explicit or default), by key.
  std::map<std::string, std::string> effective() const;
  const std::map<std::string, std::string>& explicit_settings() const { return set_; }
  void set(const std::string& key, const std::string& value) { set_[key] = value; }
  partition_options partition() const;
  // message.timestamp.type is LogAppendTime.
  bool log_append_time() const;

 private:
  std::map<std::string, std::string> set_;
};

}  // namespace kappa
