// The states of a consumer group, as Kafka's classic group coordinator names
// them (DescribeGroups and ListGroups report these names to clients and tools).
#pragma once

#include <string_view>

namespace kappa::broker {

enum class group_state {
  empty,                 // no members; committed offsets may still exist
  preparing_rebalance,   // waiting for the members to (re)join
  completing_rebalance,  // joined; waiting for the leader's assignments
  stable,                // every member has its assignment
  dead,                  // a group the coordinator does not know
};

// Kafka's spelling ("Empty", "PreparingRebalance", ...).
constexpr std::string_view group_state_name(group_state s) {
  switch (s) {
    case group_state::empty: return "Empty";
    case group_state::preparing_rebalance: return "PreparingRebalance";
    case group_state::completing_rebalance: return "CompletingRebalance";
    case group_state::stable: return "Stable";
    case group_state::dead: return "Dead";
  }
  return "Dead";
}

}  // namespace kappa::broker
