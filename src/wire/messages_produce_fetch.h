// Messages for the data path: Produce (0), Fetch (1), ListOffsets (2) and
// InitProducerId (22).
//
// Record sets are opaque views (record_set): the broker stores the client's
// RecordBatch bytes as they arrive and serves stored bytes as they are, so
// this layer never looks inside them. Each struct holds the fields of every
// version this layer accepts (api_versions.h); the version_range next to each
// field in fields() says which versions carry it. Written from Kafka's
// message schemas (clients/src/main/resources/common/message/*.json).
#pragma once

#include "wire/schema.h"

namespace kappa::wire {

// Produce. v3-7 are accepted (v0-2 carry pre-RecordBatch message sets), but
// the schema describes v0-7. The request is the same from v3 to v7: v4 only
// lets the broker answer KAFKA_STORAGE_ERROR, v5 adds log_start_offset to
// the response, v6 nothing, and v7 is the client's promise that it may send
// zstd batches (Kafka refuses zstd in older versions: produce_zstd_check).
struct produce_request {
  static constexpr api_key kApiKey = api_key::produce;
  struct partition {
    int32_t index = 0;
    record_set records;
  };
  struct topic {
    std::string_view name;
    std::vector<partition> partitions;
  };
  nullable_string transactional_id;  // 3+
  int16_t acks = 0;                  // 0 = no response, 1 = leader, -1 = all
  int32_t timeout_ms = 0;
  std::vector<topic> topics;
};
template <class Io, schema_of<produce_request> M>
void fields(Io& io, M& m) {
  io.nullable_string(m.transactional_id, since(3));
  io.i16(m.acks);
  io.i32(m.timeout_ms);
  io.array(m.topics, [&](auto& t) {
    io.string(t.name);
    io.array(t.partitions, [&](auto& p) {
      io.i32(p.index);
      io.records(p.records);
    });
  });
}

struct produce_response {
  static constexpr api_key kApiKey = api_key::produce;
  struct partition {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t base_offset = 0;
    int64_t log_append_time_ms = -1;  // 2+; -1 for CreateTime topics
    int64_t log_start_offset = -1;    // 5+
  };
  struct topic {
    std::string_view name;
    std::vector<partition> partitions;
  };
  std::vector<topic> responses;
  int32_t throttle_time_ms = 0;  // 1+
};
template <class Io, schema_of<produce_response> M>
void fields(Io& io, M& m) {
  io.array(m.responses, [&](auto& t) {
    io.string(t.name);
    io.array(t.partitions, [&](auto& p) {
      io.i32(p.index);
      io.i16(p.error_code);
      io.i64(p.base_offset);
      io.i64(p.log_append_time_ms, since(2));
      io.i64(p.log_start_offset, since(5));
    });
  });
  io.i32(m.throttle_time_ms, since(1));
}

// Fetch, versions 4-10 (v0-3 would need magic 0/1 message sets). What each
// version adds: v5 log_start_offset; v6 nothing (KAFKA_STORAGE_ERROR);
// v7 fetch sessions (KIP-227: session id and epoch, forgotten topics, and a
// top-level error); v8 nothing; v9 current_leader_epoch (KIP-320); v10
// nothing but the promise that the client reads zstd batches.
struct fetch_request {
  static constexpr api_key kApiKey = api_key::fetch;
  struct partition {
    int32_t partition = 0;
    int32_t current_leader_epoch = -1;  // 9+; -1 = not known
    int64_t fetch_offset = 0;
    int64_t log_start_offset = -1;  // 5+
    int32_t partition_max_bytes = 0;
  };
  struct topic {
    std::string_view topic;
    std::vector<partition> partitions;
  };
  // 7+: partitions an incremental fetch drops from its session.
  struct forgotten_topic {
    std::string_view topic;
    std::vector<int32_t> partitions;
  };
  int32_t replica_id = -1;  // -1 for consumers
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = INT32_MAX;  // 3+
  int8_t isolation_level = 0;     // 4+; 0 read_uncommitted, 1 read_committed
  int32_t session_id = 0;         // 7+; 0 = no session
  int32_t session_epoch = -1;     // 7+; 0 = full fetch opening a session, -1 = full fetch without one
  std::vector<topic> topics;
  std::vector<forgotten_topic> forgotten_topics_data;  // 7+
};
template <class Io, schema_of<fetch_request> M>
void fields(Io& io, M& m) {
  io.i32(m.replica_id);
  io.i32(m.max_wait_ms);
  io.i32(m.min_bytes);
  io.i32(m.max_bytes, since(3));
  io.i8(m.isolation_level, since(4));
  io.i32(m.session_id, since(7));
  io.i32(m.session_epoch, since(7));
  io.array(m.topics, [&](auto& t) {
    io.string(t.topic);
    io.array(t.partitions, [&](auto& p) {
      io.i32(p.partition);
      io.i32(p.current_leader_epoch, since(9));
      io.i64(p.fetch_offset);
      io.i64(p.log_start_offset, since(5));
      io.i32(p.partition_max_bytes);
    });
  });
  io.array(m.forgotten_topics_data, [&](auto& t) {
    io.string(t.topic);
    io.int32s(t.partitions);
  }, since(7));
}

struct fetch_response {
  static constexpr api_key kApiKey = api_key::fetch;
  struct aborted_transaction {
    int64_t producer_id = 0;
    int64_t first_offset = 0;
  };
  struct partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    int64_t high_watermark = 0;
    int64_t last_stable_offset = -1;  // 4+
    int64_t log_start_offset = -1;    // 5+
    std::optional<std::vector<aborted_transaction>> aborted_transactions;  // 4+; null = none
    record_set records;
    // Encoding only: when set, the records go in a hole instead of
    // `records` (writer.h). Decoding always fills `records`.
    std::optional<external_records> external;
  };
  struct topic {
    std::string_view topic;
    std::vector<partition> partitions;
  };
  int32_t throttle_time_ms = 0;  // 1+
  int16_t error_code = 0;        // 7+; a session error, with no responses
  int32_t session_id = 0;        // 7+; 0 = no session was opened
  std::vector<topic> responses;
};
template <class Io, schema_of<fetch_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(1));
  io.i16(m.error_code, since(7));
  io.i32(m.session_id, since(7));
  io.array(m.responses, [&](auto& t) {
    io.string(t.topic);
    io.array(t.partitions, [&](auto& p) {
      io.i32(p.partition_index);
      io.i16(p.error_code);
      io.i64(p.high_watermark);
      io.i64(p.last_stable_offset, since(4));
      io.i64(p.log_start_offset, since(5));
      io.nullable_array(p.aborted_transactions, [&](auto& a) {
        io.i64(a.producer_id);
        io.i64(a.first_offset);
      }, since(4), since(4));
      io.records(p.records, p.external);
    });
  });
}

// ListOffsets, versions 1-2 (v0's max_num_offsets and old-style offset
// arrays are not described). timestamp -2 = earliest, -1 = latest.
struct list_offsets_request {
  static constexpr api_key kApiKey = api_key::list_offsets;
  struct partition {
    int32_t partition_index = 0;
    int64_t timestamp = 0;
  };
  struct topic {
    std::string_view name;
    std::vector<partition> partitions;
  };
  int32_t replica_id = -1;
  int8_t isolation_level = 0;  // 2+
  std::vector<topic> topics;
};
template <class Io, schema_of<list_offsets_request> M>
void fields(Io& io, M& m) {
  io.i32(m.replica_id);
  io.i8(m.isolation_level, since(2));
  io.array(m.topics, [&](auto& t) {
    io.string(t.name);
    io.array(t.partitions, [&](auto& p) {
      io.i32(p.partition_index);
      io.i64(p.timestamp);
    });
  });
}

struct list_offsets_response {
  static constexpr api_key kApiKey = api_key::list_offsets;
  struct partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    int64_t timestamp = -1;
    int64_t offset = -1;
  };
  struct topic {
    std::string_view name;
    std::vector<partition> partitions;
  };
  int32_t throttle_time_ms = 0;  // 2+
  std::vector<topic> topics;
};
template <class Io, schema_of<list_offsets_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms, since(2));
  io.array(m.topics, [&](auto& t) {
    io.string(t.name);
    io.array(t.partitions, [&](auto& p) {
      io.i32(p.partition_index);
      io.i16(p.error_code);
      io.i64(p.timestamp, since(1));
      io.i64(p.offset, since(1));
    });
  });
}

// InitProducerId, versions 0-1 (identical on the wire). transactional_id null
// for an idempotent, non-transactional producer.
struct init_producer_id_request {
  static constexpr api_key kApiKey = api_key::init_producer_id;
  nullable_string transactional_id;
  int32_t transaction_timeout_ms = 0;
};
template <class Io, schema_of<init_producer_id_request> M>
void fields(Io& io, M& m) {
  io.nullable_string(m.transactional_id);
  io.i32(m.transaction_timeout_ms);
}

struct init_producer_id_response {
  static constexpr api_key kApiKey = api_key::init_producer_id;
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = 0;
};
template <class Io, schema_of<init_producer_id_response> M>
void fields(Io& io, M& m) {
  io.i32(m.throttle_time_ms);
  io.i16(m.error_code);
  io.i64(m.producer_id);
  io.i16(m.producer_epoch);
}

}  // namespace kappa::wire
