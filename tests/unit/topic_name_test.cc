#include <doctest.h>

#include <string>

#include "log/topic_name.h"

using kappa::validate_topic_name;

TEST_CASE("topic names follow Kafka's rule") {
  CHECK(validate_topic_name("clicks").ok());
  CHECK(validate_topic_name("a.b_c-D9").ok());
  CHECK(validate_topic_name(std::string(249, 'x')).ok());
  CHECK(validate_topic_name(std::string(250, 'x')).is_invalid());
  CHECK(validate_topic_name("").is_invalid());
  CHECK(validate_topic_name(".").is_invalid());
  CHECK(validate_topic_name("..").is_invalid());
  CHECK(validate_topic_name("../etc").is_invalid());
  CHECK(validate_topic_name("a/b").is_invalid());
  CHECK(validate_topic_name("sp ace").is_invalid());
  CHECK(validate_topic_name("a/b").message().find("[A-Za-z0-9._-]") != std::string::npos);
}
