#include "wire/codec.h"

namespace kappa::wire {

namespace {

template <class M>
Result<any_request> decode_as(const api_info& api, int16_t version, std::string_view body) {
  Result<M> r = decode<M>(body, version);
  if (!r.ok()) {
    return r.status().with_context(std::string(api.name) + " v" + std::to_string(version) + " request");
  }
  return any_request(std::move(r).value());
}

}  // namespace

Result<any_request> decode_request(const request_header& h, std::string_view body) {
  const api_info* api = find_api(h.api_key);
  if (api == nullptr) return Status::NotFound("unknown API key " + std::to_string(h.api_key));
  if (!accepts(h.api_key, h.api_version)) {
    return Status::NotFound(std::string(api->name) + " v" + std::to_string(h.api_version) +
                            " is not supported (accepted: v" + std::to_string(api->accepted_min) + "-v" +
                            std::to_string(api->accepted_max) + ")");
  }
  const int16_t v = h.api_version;
  switch (api->key) {
    case api_key::produce: return decode_as<produce_request>(*api, v, body);
    case api_key::fetch: return decode_as<fetch_request>(*api, v, body);
    case api_key::list_offsets: return decode_as<list_offsets_request>(*api, v, body);
    case api_key::metadata: return decode_as<metadata_request>(*api, v, body);
    case api_key::offset_commit: return decode_as<offset_commit_request>(*api, v, body);
    case api_key::offset_fetch: return decode_as<offset_fetch_request>(*api, v, body);
    case api_key::find_coordinator: return decode_as<find_coordinator_request>(*api, v, body);
    case api_key::join_group: return decode_as<join_group_request>(*api, v, body);
    case api_key::heartbeat: return decode_as<heartbeat_request>(*api, v, body);
    case api_key::leave_group: return decode_as<leave_group_request>(*api, v, body);
    case api_key::sync_group: return decode_as<sync_group_request>(*api, v, body);
    case api_key::describe_groups: return decode_as<describe_groups_request>(*api, v, body);
    case api_key::list_groups: return decode_as<list_groups_request>(*api, v, body);
    case api_key::api_versions: return decode_as<api_versions_request>(*api, v, body);
    case api_key::create_topics: return decode_as<create_topics_request>(*api, v, body);
    case api_key::delete_topics: return decode_as<delete_topics_request>(*api, v, body);
    case api_key::init_producer_id: return decode_as<init_producer_id_request>(*api, v, body);
    case api_key::describe_configs: return decode_as<describe_configs_request>(*api, v, body);
  }
  return Status::NotFound("unknown API key " + std::to_string(h.api_key));  // unreachable: the table lists every key
}

}  // namespace kappa::wire
