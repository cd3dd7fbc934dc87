// What the coordinator holds about one consumer group and its members
// (Kafka's GroupMetadata and MemberMetadata). Plain data: the rules that move
// a group between states live in group_coordinator.cc.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "broker/group_state.h"
#include "wire/messages_group.h"

namespace kappa::broker {

using join_callback = std::function<void(const wire::join_group_response&)>;
using sync_callback = std::function<void(const wire::sync_group_response&)>;

struct member_protocol {
  std::string name;
  std::string metadata;  // opaque: passed to the leader, never parsed
};

struct group_member {
  std::string member_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::vector<member_protocol> protocols;  // in the member's order of preference
  std::string assignment;                  // from the leader's SyncGroup; opaque
  int64_t last_heartbeat_ms = 0;

  // Rejoined in the current PreparingRebalance. Stays set when the
  // connection closes (join_done cleared): the member still counts as
  // joined, as in Kafka, and its session timer then decides.
  bool awaiting_join = false;
  uint64_t join_conn = 0;
  join_callback join_done;
  // Sent SyncGroup in CompletingRebalance and waits for the leader's.
  bool awaiting_sync = false;
  uint64_t sync_conn = 0;
  sync_callback sync_done;

  const std::string* metadata_for(std::string_view protocol) const {
    for (const auto& p : protocols)
      if (p.name == protocol) return &p.metadata;
    return nullptr;
  }
  bool supports(std::string_view protocol) const { return metadata_for(protocol) != nullptr; }
  bool same_protocols(const std::vector<wire::join_group_request::protocol>& other) const {
    if (other.size() != protocols.size()) return false;
    for (size_t i = 0; i < other.size(); ++i)
      if (other[i].name != protocols[i].name || other[i].metadata != protocols[i].metadata) return false;
    return true;
  }
  // Session timers do not run while a request of the member is held: the
  // rebalance timeout bounds a join, the leader's session bounds a sync.
  bool kept_alive() const { return awaiting_join || awaiting_sync; }
  int64_t session_deadline_ms() const {
    return kept_alive() ? std::numeric_limits<int64_t>::max() : last_heartbeat_ms + session_timeout_ms;
  }
};

struct consumer_group {
  std::string group_id;
  group_state state = group_state::empty;
  int32_t generation = 0;
  std::string protocol_type;  // kept when the group empties, for ListGroups
  std::string protocol;       // chosen for the current generation
  std::string leader;
  std::vector<group_member> members;  // in join order

  // While PreparingRebalance: when the rebalance ends at the latest.
  int64_t rebalance_deadline_ms = std::numeric_limits<int64_t>::max();
  // The first rebalance of an empty group waits the initial delay (so a
  // fleet of consumers starting together lands in one generation), again
  // while new members keep arriving, up to the rebalance timeout.
  bool in_initial_delay = false;
  bool new_member_added = false;
  int64_t initial_delay_remaining_ms = 0;

  group_member* find(std::string_view member_id) {
    for (auto& m : members)
      if (m.member_id == member_id) return &m;
    return nullptr;
  }
  bool all_joined() const {
    for (const auto& m : members)
      if (!m.awaiting_join) return false;
    return true;
  }
  // Kafka waits for the slowest member's rebalance timeout.
  int32_t rebalance_timeout_ms() const {
    int32_t t = 0;
    for (const auto& m : members) t = std::max(t, m.rebalance_timeout_ms);
    return t;
  }
};

}  // namespace kappa::broker
