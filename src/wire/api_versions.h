// The API table: which Kafka APIs and versions kappa serve speaks.
//
// Three sets per API key, kept apart on purpose:
// - advertised [min, max]: what the ApiVersions response lists. Negotiating
//   clients send the highest version inside both their range and ours, so the
//   maxima pick what they send; the minima only need to be low enough for
//   librdkafka's feature checks (Produce min 0 lets older librdkafka compress).
// - accepted [min, max]: what a request may carry. It adds versions that
//   non-negotiating clients send on their own (Metadata 5, OffsetCommit 1,
//   FindCoordinator 1-2) and drops Produce 0-2, which predate RecordBatch
//   and are refused, as Kafka 4.0 does, though 0 stays advertised.
// - flexible from: the first version using compact encodings and tagged
//   fields, from Kafka's message schemas, whether or not we accept it.
// Keys not in the table are unknown: a request for one closes the connection.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "wire/api_key.h"
#include "wire/messages_admin.h"

namespace kappa::wire {

// One row of the table.
struct api_info {
  api_key key;
  std::string_view name;  // Kafka's name: "Produce", "ApiVersions", ...
  int16_t advertised_min;
  int16_t advertised_max;
  int16_t accepted_min;
  int16_t accepted_max;
  int16_t flexible_from;
};

// Every row, in api_key order.
std::span<const api_info> api_table();

// The row for `key`, or nullptr for a key this layer does not know.
const api_info* find_api(int16_t key);

// True if a request of `key` at `version` is decoded and served. False for an
// unknown key, a version outside the accepted range (Produce 0-2 included),
// and ApiVersions above 4, which gets the answer of
// unsupported_api_versions_response() rather than a closed connection.
bool accepts(int16_t key, int16_t version);

// True if `version` of `key` uses the flexible encodings (any version, known
// key); false for an unknown key.
bool is_flexible(int16_t key, int16_t version);

// The ApiVersions response body listing every advertised range, error 0.
api_versions_response supported_api_versions();

// For an ApiVersions request above our maximum: error 35
// (UNSUPPORTED_VERSION) listing only ApiVersions {18, 0, 4}, so the client
// retries with 4. REQUIRES: encoded at version 0 with response header v0
// (kUnsupportedApiVersionsReplyVersion), whatever the request's version was.
api_versions_response unsupported_api_versions_response();
inline constexpr int16_t kUnsupportedApiVersionsReplyVersion = 0;

// Kafka's UNSUPPORTED_VERSION error code.
inline constexpr int16_t kErrorUnsupportedVersion = 35;

}  // namespace kappa::wire
