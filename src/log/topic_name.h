// Topic names follow Kafka's rule; no path is built from an unchecked one.
#pragma once

#include <string_view>

#include "kappa/status.h"

namespace kappa {

// OK for 1-249 characters of [A-Za-z0-9._-] other than "." and "..";
// otherwise Invalid with the rule in the message.
Status validate_topic_name(std::string_view name);

}  // namespace kappa
