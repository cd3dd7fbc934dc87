// Messages for the group coordinator: FindCoordinator (10), JoinGroup (11),
// Heartbeat (12), LeaveGroup (13), SyncGroup (14), OffsetCommit (8),
// OffsetFetch (9), ListGroups (16), DescribeGroups (15).
//
// Member metadata and assignments are opaque bytes: the coordinator passes
// them between members and never parses them. Each struct holds the fields of
// every version this layer accepts (api_versions.h); the version_range next
// to each field in fields() says which versions carry it. Written from
// Kafka's message schemas (clients/src/main/resources/common/message/*.json).
#pragma once

#include "wire/schema.h"

namespace kappa::wire {

// FindCoordinator, versions 0-2.
struct find_coordinator_request {
  static constexpr api_key kApiKey = api_key::find_coordinator;
  std::string_view key;  // the group id
  int8_t key_type = 0;   // 1+; 0 = group, 1 = transaction
};
template <class Io, schema_of<find_coordinator_request> M>
void fields(Io& io, M& m) {
  io.string(m.key);
  io.i8(m.key_type, since(1));
}

struct find_coordinator_response {
  static constexpr api_key kApiKey = api_key::find_coordinator;
  int32_t throttle_time_ms = 0;  // 1+
  int16_t error_code = 0;
  nullable_string error_message;  // 1+
  int32_t node_id = 0;
  std::string_view host;
  int32_t port = 0;
};
template <class Io, schema_of<find_coordinator_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(1));
  io.i16(m.error_code);
  io.nullable_string(m.error_message, since(1));
  io.i32(m.node_id);
  io.string(m.host);
  io.i32(m.port);
}

// JoinGroup, versions 0-2.
struct join_group_request {
  static constexpr api_key kApiKey = api_key::join_group;
  struct protocol {
    std::string_view name;
    std::string_view metadata;
  };
  std::string_view group_id;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = -1;  // 1+; v0 uses the session timeout
  std::string_view member_id;         // empty on a first join
  std::string_view protocol_type;
  std::vector<protocol> protocols;
};
template <class Io, schema_of<join_group_request> M>
void fields(Io& io, M& m) {
  io.string(m.group_id);
  io.i32(m.session_timeout_ms);
  io.i32(m.rebalance_timeout_ms, since(1));
  io.string(m.member_id);
  io.string(m.protocol_type);
  io.array(m.protocols, [&](auto& p) {
    io.string(p.name);
    io.bytes(p.metadata);
  });
}

struct join_group_response {
  static constexpr api_key kApiKey = api_key::join_group;
  struct member {
    std::string_view member_id;
    std::string_view metadata;
  };
  int32_t throttle_time_ms = 0;  // 2+
  int16_t error_code = 0;
  int32_t generation_id = -1;
  std::string_view protocol_name;
  std::string_view leader;
  std::string_view member_id;
  std::vector<member> members;  // filled for the leader only
};
template <class Io, schema_of<join_group_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(2));
  io.i16(m.error_code);
  io.i32(m.generation_id);
  io.string(m.protocol_name);
  io.string(m.leader);
  io.string(m.member_id);
  io.array(m.members, [&](auto& mb) {
    io.string(mb.member_id);
    io.bytes(mb.metadata);
  });
}

// SyncGroup, versions 0-1. Only the leader sends assignments.
struct sync_group_request {
  static constexpr api_key kApiKey = api_key::sync_group;
  struct assignment {
    std::string_view member_id;
    std::string_view assignment;
  };
  std::string_view group_id;
  int32_t generation_id = 0;
  std::string_view member_id;
  std::vector<assignment> assignments;
};
template <class Io, schema_of<sync_group_request> M>
void fields(Io& io, M& m) {
  io.string(m.group_id);
  io.i32(m.generation_id);
  io.string(m.member_id);
  io.array(m.assignments, [&](auto& a) {
    io.string(a.member_id);
    io.bytes(a.assignment);
  });
}

struct sync_group_response {
  static constexpr api_key kApiKey = api_key::sync_group;
  int32_t throttle_time_ms = 0;  // 1+
  int16_t error_code = 0;
  std::string_view assignment;
};
template <class Io, schema_of<sync_group_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(1));
  io.i16(m.error_code);
  io.bytes(m.assignment);
}

// Heartbeat, versions 0-1.
struct heartbeat_request {
  static constexpr api_key kApiKey = api_key::heartbeat;
  std::string_view group_id;
  int32_t generation_id = 0;
  std::string_view member_id;
};
template <class Io, schema_of<heartbeat_request> M>
void fields(Io& io, M& m) {
  io.string(m.group_id);
  io.i32(m.generation_id);
  io.string(m.member_id);
}

struct heartbeat_response {
  static constexpr api_key kApiKey = api_key::heartbeat;
  int32_t throttle_time_ms = 0;  // 1+
  int16_t error_code = 0;
};
template <class Io, schema_of<heartbeat_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(1));
  io.i16(m.error_code);
}

// LeaveGroup, versions 0-1.
struct leave_group_request {
  static constexpr api_key kApiKey = api_key::leave_group;
  std::string_view group_id;
  std::string_view member_id;
};
template <class Io, schema_of<leave_group_request> M>
void fields(Io& io, M& m) {
  io.string(m.group_id);
  io.string(m.member_id);
}

struct leave_group_response {
  static constexpr api_key kApiKey = api_key::leave_group;
  int32_t throttle_time_ms = 0;  // 1+
  int16_t error_code = 0;
};
template <class Io, schema_of<leave_group_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(1));
  io.i16(m.error_code);
}

// OffsetCommit, versions 1-2 (v0 is not described). A commit from outside
// the group carries generation -1 and member "" (Java's assign()).
struct offset_commit_request {
  static constexpr api_key kApiKey = api_key::offset_commit;
  struct partition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int64_t commit_timestamp = -1;  // 1 only
    nullable_string committed_metadata;
  };
  struct topic {
    std::string_view name;
    std::vector<partition> partitions;
  };
  std::string_view group_id;
  int32_t generation_id = -1;
  std::string_view member_id;
  int64_t retention_time_ms = -1;  // 2+; -1 = the broker's retention
  std::vector<topic> topics;
};
template <class Io, schema_of<offset_commit_request> M>
void fields(Io& io, M& m) {
  io.string(m.group_id);
  io.i32(m.generation_id, since(1));
  io.string(m.member_id, since(1));
  io.i64(m.retention_time_ms, between(2, 4));
  io.array(m.topics, [&](auto& t) {
    io.string(t.name);
    io.array(t.partitions, [&](auto& p) {
      io.i32(p.partition_index);
      io.i64(p.committed_offset);
      io.i64(p.commit_timestamp, only(1));
      io.nullable_string(p.committed_metadata);
    });
  });
}

struct offset_commit_response {
  static constexpr api_key kApiKey = api_key::offset_commit;
  struct partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
  };
  struct topic {
    std::string_view name;
    std::vector<partition> partitions;
  };
  int32_t throttle_time_ms = 0;  // 3+
  std::vector<topic> topics;
};
template <class Io, schema_of<offset_commit_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(3));
  io.array(m.topics, [&](auto& t) {
    io.string(t.name);
    io.array(t.partitions, [&](auto& p) {
      io.i32(p.partition_index);
      io.i16(p.error_code);
    });
  });
}

// OffsetFetch, versions 1-3. topics null (2+) = every partition the group
// has committed.
struct offset_fetch_request {
  static constexpr api_key kApiKey = api_key::offset_fetch;
  struct topic {
    std::string_view name;
    std::vector<int32_t> partition_indexes;
  };
  std::string_view group_id;
  std::optional<std::vector<topic>> topics{std::in_place};
};
template <class Io, schema_of<offset_fetch_request> M>
void fields(Io& io, M& m) {
  io.string(m.group_id);
  io.nullable_array(m.topics, [&](auto& t) {
    io.string(t.name);
    io.int32s(t.partition_indexes);
  }, kAll, since(2));
}

struct offset_fetch_response {
  static constexpr api_key kApiKey = api_key::offset_fetch;
  struct partition {
    int32_t partition_index = 0;
    int64_t committed_offset = -1;  // -1 when nothing is committed
    nullable_string metadata;
    int16_t error_code = 0;
  };
  struct topic {
    std::string_view name;
    std::vector<partition> partitions;
  };
  int32_t throttle_time_ms = 0;  // 3+
  std::vector<topic> topics;
  int16_t error_code = 0;  // 2+
};
template <class Io, schema_of<offset_fetch_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(3));
  io.array(m.topics, [&](auto& t) {
    io.string(t.name);
    io.array(t.partitions, [&](auto& p) {
      io.i32(p.partition_index);
      io.i64(p.committed_offset);
      io.nullable_string(p.metadata);
      io.i16(p.error_code);
    });
  });
  io.i16(m.error_code, since(2));
}

// ListGroups, versions 0-2 (the request has no fields below v4).
struct list_groups_request {
  static constexpr api_key kApiKey = api_key::list_groups;
};
template <class Io, schema_of<list_groups_request> M>
void fields(Io&, M&) {}

struct list_groups_response {
  static constexpr api_key kApiKey = api_key::list_groups;
  struct group {
    std::string_view group_id;
    std::string_view protocol_type;
  };
  int32_t throttle_time_ms = 0;  // 1+
  int16_t error_code = 0;
  std::vector<group> groups;
};
template <class Io, schema_of<list_groups_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(1));
  io.i16(m.error_code);
  io.array(m.groups, [&](auto& g) {
    io.string(g.group_id);
    io.string(g.protocol_type);
  });
}

// DescribeGroups, versions 0-2.
struct describe_groups_request {
  static constexpr api_key kApiKey = api_key::describe_groups;
  std::vector<std::string_view> groups;
};
template <class Io, schema_of<describe_groups_request> M>
void fields(Io& io, M& m) {
  io.strings(m.groups);
}

struct describe_groups_response {
  static constexpr api_key kApiKey = api_key::describe_groups;
  struct member {
    std::string_view member_id;
    std::string_view client_id;
    std::string_view client_host;
    std::string_view member_metadata;
    std::string_view member_assignment;
  };
  struct group {
    int16_t error_code = 0;
    std::string_view group_id;
    std::string_view group_state;
    std::string_view protocol_type;
    std::string_view protocol_data;
    std::vector<member> members;
  };
  int32_t throttle_time_ms = 0;  // 1+
  std::vector<group> groups;
};
template <class Io, schema_of<describe_groups_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(1));
  io.array(m.groups, [&](auto& g) {
    io.i16(g.error_code);
    io.string(g.group_id);
    io.string(g.group_state);
    io.string(g.protocol_type);
    io.string(g.protocol_data);
    io.array(g.members, [&](auto& mb) {
      io.string(mb.member_id);
      io.string(mb.client_id);
      io.string(mb.client_host);
      io.bytes(mb.member_metadata);
      io.bytes(mb.member_assignment);
    });
  });
}

}  // namespace kappa::wire
