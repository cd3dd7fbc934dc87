#include "wire/api_versions.h"

#include <array>

namespace kappa::wire {

namespace {

// Advertised and accepted ranges follow the project's client study; the
// flexible-from column is Kafka's message schemas' "flexibleVersions".
constexpr std::array<api_info, 18> kTable{{
    //                              name             adv     acc    flex
    {api_key::produce, "Produce", 0, 7, 3, 7, 9},
    {api_key::fetch, "Fetch", 4, 10, 4, 10, 12},
    {api_key::list_offsets, "ListOffsets", 1, 2, 1, 2, 6},
    {api_key::metadata, "Metadata", 0, 4, 0, 5, 9},
    {api_key::offset_commit, "OffsetCommit", 2, 2, 1, 2, 8},
    {api_key::offset_fetch, "OffsetFetch", 1, 3, 1, 3, 6},
    {api_key::find_coordinator, "FindCoordinator", 0, 0, 0, 2, 3},
    {api_key::join_group, "JoinGroup", 0, 2, 0, 2, 6},
    {api_key::heartbeat, "Heartbeat", 0, 1, 0, 1, 4},
    {api_key::leave_group, "LeaveGroup", 0, 1, 0, 1, 4},
    {api_key::sync_group, "SyncGroup", 0, 1, 0, 1, 4},
    {api_key::describe_groups, "DescribeGroups", 0, 2, 0, 2, 5},
    {api_key::list_groups, "ListGroups", 0, 2, 0, 2, 3},
    {api_key::api_versions, "ApiVersions", 0, 4, 0, 4, 3},
    {api_key::create_topics, "CreateTopics", 0, 4, 0, 4, 5},
    {api_key::delete_topics, "DeleteTopics", 0, 1, 0, 1, 4},
    {api_key::init_producer_id, "InitProducerId", 0, 1, 0, 1, 2},
    {api_key::describe_configs, "DescribeConfigs", 0, 1, 0, 1, 4},
}};

}  // namespace

std::span<const api_info> api_table() { return kTable; }

const api_info* find_api(int16_t key) {
  for (const api_info& a : kTable) {
    if (static_cast<int16_t>(a.key) == key) return &a;
  }
  return nullptr;
}

bool accepts(int16_t key, int16_t version) {
  const api_info* a = find_api(key);
  return a != nullptr && a->accepted_min <= version && version <= a->accepted_max;
}

bool is_flexible(int16_t key, int16_t version) {
  const api_info* a = find_api(key);
  return a != nullptr && version >= a->flexible_from;
}

api_versions_response supported_api_versions() {
  api_versions_response r;
  for (const api_info& a : kTable) {
    r.api_keys.push_back({static_cast<int16_t>(a.key), a.advertised_min, a.advertised_max});
  }
  return r;
}

api_versions_response unsupported_api_versions_response() {
  const api_info* a = find_api(static_cast<int16_t>(api_key::api_versions));
  api_versions_response r;
  r.error_code = kErrorUnsupportedVersion;
  r.api_keys.push_back({static_cast<int16_t>(api_key::api_versions), a->advertised_min, a->advertised_max});
  return r;
}

}  // namespace kappa::wire
