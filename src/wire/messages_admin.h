// Messages for the cluster and admin APIs: ApiVersions (18), Metadata (3),
// CreateTopics (19), DeleteTopics (20), DescribeConfigs (32).
//
// Each struct holds the fields of every version this layer accepts
// (api_versions.h); the version_range next to each field in fields() says
// which versions carry it, and a field absent from a version keeps its
// initialiser, Kafka's default. Written from Kafka's message schemas
// (clients/src/main/resources/common/message/*.json).
#pragma once

#include "wire/schema.h"

namespace kappa::wire {

// ApiVersions, versions 0-4 (3+ flexible; v4 is v3 on the wire).
struct api_versions_request {
  static constexpr api_key kApiKey = api_key::api_versions;
  std::string_view client_software_name;     // 3+
  std::string_view client_software_version;  // 3+
};
template <class Io, schema_of<api_versions_request> M>
void fields(Io& io, M& m) {
  io.string(m.client_software_name, since(3));
  io.string(m.client_software_version, since(3));
}

struct api_versions_response {
  static constexpr api_key kApiKey = api_key::api_versions;
  struct api_version {
    int16_t api_key = 0;
    int16_t min_version = 0;
    int16_t max_version = 0;
  };
  int16_t error_code = 0;
  std::vector<api_version> api_keys;
  int32_t throttle_time_ms = 0;  // 1+
  // The tagged SupportedFeatures & co. (3+) are written empty and skipped.
};
template <class Io, schema_of<api_versions_response> M>
void fields(Io& io, M& m) {
  io.i16(m.error_code);
  io.array(m.api_keys, [&](auto& k) {
    io.i16(k.api_key);
    io.i16(k.min_version);
    io.i16(k.max_version);
  });
  io.i32(m.throttle_time_ms, since(1));
}

// Metadata, versions 0-5. Topics null (1+) = all topics; in v0 empty = all.
struct metadata_request {
  static constexpr api_key kApiKey = api_key::metadata;
  struct topic {
    std::string_view name;
  };
  std::optional<std::vector<topic>> topics{std::in_place};
  bool allow_auto_topic_creation = true;  // 4+
};
template <class Io, schema_of<metadata_request> M>
void fields(Io& io, M& m) {
  io.nullable_array(m.topics, [&](auto& t) { io.string(t.name); }, kAll, since(1));
  io.boolean(m.allow_auto_topic_creation, since(4));
}

struct metadata_response {
  static constexpr api_key kApiKey = api_key::metadata;
  struct broker {
    int32_t node_id = 0;
    std::string_view host;
    int32_t port = 0;
    nullable_string rack;  // 1+
  };
  struct partition {
    int16_t error_code = 0;
    int32_t partition_index = 0;
    int32_t leader_id = 0;
    std::vector<int32_t> replica_nodes;
    std::vector<int32_t> isr_nodes;
    std::vector<int32_t> offline_replicas;  // 5+
  };
  struct topic {
    int16_t error_code = 0;
    std::string_view name;
    bool is_internal = false;  // 1+
    std::vector<partition> partitions;
  };
  int32_t throttle_time_ms = 0;  // 3+
  std::vector<broker> brokers;
  nullable_string cluster_id;  // 2+
  int32_t controller_id = -1;  // 1+
  std::vector<topic> topics;
};
template <class Io, schema_of<metadata_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(3));
  io.array(m.brokers, [&](auto& b) {
    io.i32(b.node_id);
    io.string(b.host);
    io.i32(b.port);
    io.nullable_string(b.rack, since(1));
  });
  io.nullable_string(m.cluster_id, since(2));
  io.i32(m.controller_id, since(1));
  io.array(m.topics, [&](auto& t) {
    io.i16(t.error_code);
    io.string(t.name);
    io.boolean(t.is_internal, since(1));
    io.array(t.partitions, [&](auto& p) {
      io.i16(p.error_code);
      io.i32(p.partition_index);
      io.i32(p.leader_id);
      io.int32s(p.replica_nodes);
      io.int32s(p.isr_nodes);
      io.int32s(p.offline_replicas, since(5));
    });
  });
}

// CreateTopics, versions 0-4. num_partitions and replication_factor -1 mean
// the broker's defaults (kafkajs sends -1 in every version).
struct create_topics_request {
  static constexpr api_key kApiKey = api_key::create_topics;
  struct assignment {
    int32_t partition_index = 0;
    std::vector<int32_t> broker_ids;
  };
  struct config {
    std::string_view name;
    nullable_string value;
  };
  struct topic {
    std::string_view name;
    int32_t num_partitions = 0;
    int16_t replication_factor = 0;
    std::vector<assignment> assignments;
    std::vector<config> configs;
  };
  std::vector<topic> topics;
  int32_t timeout_ms = 60000;
  bool validate_only = false;  // 1+
};
template <class Io, schema_of<create_topics_request> M>
void fields(Io& io, M& m) {
  io.array(m.topics, [&](auto& t) {
    io.string(t.name);
    io.i32(t.num_partitions);
    io.i16(t.replication_factor);
    io.array(t.assignments, [&](auto& a) {
      io.i32(a.partition_index);
      io.int32s(a.broker_ids);
    });
    io.array(t.configs, [&](auto& c) {
      io.string(c.name);
      io.nullable_string(c.value);
    });
  });
  io.i32(m.timeout_ms);
  io.boolean(m.validate_only, since(1));
}

struct create_topics_response {
  static constexpr api_key kApiKey = api_key::create_topics;
  struct topic {
    std::string_view name;
    int16_t error_code = 0;
    nullable_string error_message;  // 1+
  };
  int32_t throttle_time_ms = 0;  // 2+
  std::vector<topic> topics;
};
template <class Io, schema_of<create_topics_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(2));
  io.array(m.topics, [&](auto& t) {
    io.string(t.name);
    io.i16(t.error_code);
    io.nullable_string(t.error_message, since(1));
  });
}

// DeleteTopics, versions 0-1.
struct delete_topics_request {
  static constexpr api_key kApiKey = api_key::delete_topics;
  std::vector<std::string_view> topic_names;
  int32_t timeout_ms = 0;
};
template <class Io, schema_of<delete_topics_request> M>
void fields(Io& io, M& m) {
  io.strings(m.topic_names);
  io.i32(m.timeout_ms);
}

struct delete_topics_response {
  static constexpr api_key kApiKey = api_key::delete_topics;
  struct result {
    std::string_view name;
    int16_t error_code = 0;
  };
  int32_t throttle_time_ms = 0;  // 1+
  std::vector<result> responses;
};
template <class Io, schema_of<delete_topics_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(1));
  io.array(m.responses, [&](auto& r) {
    io.string(r.name);
    io.i16(r.error_code);
  });
}

// DescribeConfigs, versions 0-1. configuration_keys null = every key.
struct describe_configs_request {
  static constexpr api_key kApiKey = api_key::describe_configs;
  struct resource {
    int8_t resource_type = 0;  // 2 = topic, 4 = broker
    std::string_view resource_name;
    std::optional<std::vector<std::string_view>> configuration_keys;
  };
  std::vector<resource> resources;
  bool include_synonyms = false;  // 1+
};
template <class Io, schema_of<describe_configs_request> M>
void fields(Io& io, M& m) {
  io.array(m.resources, [&](auto& r) {
    io.i8(r.resource_type);
    io.string(r.resource_name);
    io.nullable_strings(r.configuration_keys);
  });
  io.boolean(m.include_synonyms, since(1));
}

struct describe_configs_response {
  static constexpr api_key kApiKey = api_key::describe_configs;
  struct synonym {
    std::string_view name;
    nullable_string value;
    int8_t source = 0;
  };
  struct config {
    std::string_view name;
    nullable_string value;
    bool read_only = false;
    bool is_default = false;   // 0 only; v1 says config_source instead
    int8_t config_source = -1;  // 1+
    bool is_sensitive = false;
    std::vector<synonym> synonyms;  // 1+
  };
  struct result {
    int16_t error_code = 0;
    nullable_string error_message;
    int8_t resource_type = 0;
    std::string_view resource_name;
    std::vector<config> configs;
  };
  int32_t throttle_time_ms = 0;
  std::vector<result> results;
};
template <class Io, schema_of<describe_configs_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms);
  io.array(m.results, [&](auto& r) {
    io.i16(r.error_code);
    io.nullable_string(r.error_message);
    io.i8(r.resource_type);
    io.string(r.resource_name);
    io.array(r.configs, [&](auto& c) {
      io.string(c.name);
      io.nullable_string(c.value);
      io.boolean(c.read_only);
      io.boolean(c.is_default, only(0));
      io.i8(c.config_source, since(1));
      io.boolean(c.is_sensitive);
      io.array(c.synonyms, [&](auto& s) {
        io.string(s.name);
        io.nullable_string(s.value);
        io.i8(s.source);
      }, since(1));
    });
  });
}

}  // namespace kappa::wire
