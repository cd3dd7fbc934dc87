#include <doctest.h>

#include "kappa/topic_config.h"

using namespace kappa;

TEST_CASE("topic configs have Kafka's defaults") {
  topic_config c;
  CHECK(c.get("segment.bytes") == "1073741824");
  CHECK(c.get("retention.ms") == "604800000");
  CHECK(c.get("cleanup.policy") == "delete");
  CHECK(c.partition().max_message_bytes == 1048588);
  c.set("segment.bytes", "4096");
  CHECK(c.partition().segment_bytes == 4096);
  CHECK(c.effective().size() == topic_config_defs().size());
}

TEST_CASE("bad config keys and values are refused with the rule") {
  CHECK(validate_topic_config("segment.bytes", "1024").ok());
  CHECK(validate_topic_config("segment.bytes", "abc").is_invalid());
  CHECK(validate_topic_config("segment.bytes", "1").is_invalid());
  CHECK(validate_topic_config("retention.ms", "-1").ok());
  CHECK(validate_topic_config("retention.ms", "-2").is_invalid());
  CHECK(validate_topic_config("cleanup.policy", "compact,delete").ok());
  CHECK(validate_topic_config("cleanup.policy", "shred").is_invalid());
  CHECK(validate_topic_config("min.cleanable.dirty.ratio", "1.5").is_invalid());
  auto st = validate_topic_config("segment.byte", "1");
  CHECK(st.is_invalid());
  CHECK(st.message().find("known configs") != std::string::npos);
}
