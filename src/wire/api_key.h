// Kafka's API keys (the first field of every request header).
#pragma once

#include <cstdint>

namespace kappa::wire {

// Kafka's API keys, as far as this layer knows them.
enum class api_key : int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  describe_groups = 15,
  list_groups = 16,
  api_versions = 18,
  create_topics = 19,
  delete_topics = 20,
  init_producer_id = 22,
  describe_configs = 32,
};

}  // namespace kappa::wire
