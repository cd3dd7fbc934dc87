// Tests for src/wire: the API table, framing, headers and every message
// schema at every accepted version, against byte layouts written by hand from
// Kafka's message schemas, and against truncated and hostile input.
#include <doctest.h>

#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "wire/codec.h"

using namespace kappa;
using namespace kappa::wire;
using namespace std::string_view_literals;

// The largest single allocation made while tracking is on: the hostile-input
// tests check that no length read from the input sizes an allocation.
namespace {
bool g_track_allocations = false;
size_t g_largest_allocation = 0;
}  // namespace

// noinline: GCC would otherwise inline delete next to new under LTO and warn
// that free() meets operator new (it is malloc here).
[[gnu::noinline]] void* operator new(size_t n) {
  if (g_track_allocations && n > g_largest_allocation) g_largest_allocation = n;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }
// Every other form too, so that no delete frees what another new allocated
// (a library's new (std::nothrow), say; the sanitizers check they match).
[[gnu::noinline]] void* operator new(size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
[[gnu::noinline]] void* operator new[](size_t n) { return operator new(n); }
[[gnu::noinline]] void* operator new[](size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

// Builds expected bytes field by field, with the widths of Kafka's schema
// types; independent of wire::writer.
struct bytes_builder {
  std::string s;
  bytes_builder& i8(int v) {
    s.push_back(static_cast<char>(v));
    return *this;
  }
  bytes_builder& i16(int v) { return i8(v >> 8).i8(v); }
  bytes_builder& i32(int64_t v) { return i16(static_cast<int>(v >> 16)).i16(static_cast<int>(v)); }
  bytes_builder& i64(int64_t v) { return i32(v >> 32).i32(v); }
  bytes_builder& str(std::string_view v) {  // STRING: int16 length
    i16(static_cast<int>(v.size()));
    s.append(v);
    return *this;
  }
  bytes_builder& raw(std::string_view v) {
    s.append(v);
    return *this;
  }
};

std::string frame_of(const std::string& body) {
  std::string f;
  bytes_builder b;
  b.i32(static_cast<int64_t>(body.size()));
  return b.s + body;
}

// Sample messages with every field set to something other than its default.
// Fields a version lacks are dropped by the round trip; nullable fields are
// null only where the version allows it.
template <class M>
M sample(int16_t v);

template <>
produce_request sample(int16_t) {
  produce_request m;
  m.acks = -1;
  m.timeout_ms = 1500;
  m.topics = {{"clicks", {{0, "batch-bytes"sv}, {3, std::nullopt}}}, {"t2", {}}};
  return m;
}
template <>
produce_response sample(int16_t) {
  produce_response m;
  m.responses = {{"clicks", {{0, 0, 42, -1, 40}, {3, 87, -1, 1700000000000, -1}}}};
  m.throttle_time_ms = 5;
  return m;
}
template <>
fetch_request sample(int16_t) {
  fetch_request m;
  m.max_wait_ms = 500;
  m.min_bytes = 1;
  m.max_bytes = 52428800;
  m.isolation_level = 1;
  m.session_id = 1234;
  m.session_epoch = 3;
  m.topics = {{"clicks", {{0, 5, 10, 2, 1048576}, {1, -1, 0, -1, 65536}}}};
  m.forgotten_topics_data = {{"views", {0, 7}}, {"old", {}}};
  return m;
}
template <>
fetch_response sample(int16_t) {
  fetch_response m;
  m.throttle_time_ms = 1;
  m.error_code = 70;
  m.session_id = 99;
  fetch_response::partition p0{0, 0, 100, 100, -1, std::nullopt, "stored-batches"sv, std::nullopt};
  fetch_response::partition p1{1, 1, 7, 7, -1, std::vector<fetch_response::aborted_transaction>{{9, 3}}, std::nullopt, std::nullopt};
  m.responses = {{"clicks", {p0, p1}}};
  return m;
}
template <>
list_offsets_request sample(int16_t) {
  list_offsets_request m;
  m.isolation_level = 1;
  m.topics = {{"clicks", {{0, -2}, {1, 1700000000000}}}};
  return m;
}
template <>
list_offsets_response sample(int16_t) {
  list_offsets_response m;
  m.throttle_time_ms = 2;
  m.topics = {{"clicks", {{0, 0, -1, 17}, {1, 3, -1, -1}}}};
  return m;
}
template <>
metadata_request sample(int16_t v) {
  metadata_request m;
  if (v >= 1) m.topics.reset();  // all topics
  if (v >= 2) m.topics = std::vector<metadata_request::topic>{{"clicks"}, {"views"}};
  m.allow_auto_topic_creation = false;
  return m;
}
template <>
metadata_response sample(int16_t) {
  metadata_response m;
  m.throttle_time_ms = 3;
  m.brokers = {{1, "localhost", 9092, std::nullopt}, {2, "h2", 9093, "rack-a"sv}};
  m.cluster_id = "kappa-cluster"sv;
  m.controller_id = 1;
  m.topics = {{0, "clicks", false, {{0, 0, 1, {1}, {1}, {}}, {0, 1, 1, {1, 2}, {1}, {2}}}}, {3, "missing", true, {}}};
  return m;
}
template <>
offset_commit_request sample(int16_t) {
  offset_commit_request m;
  m.group_id = "g";
  m.generation_id = 4;
  m.member_id = "member-1";
  m.retention_time_ms = 86400000;
  m.topics = {{"clicks", {{0, 100, 1700000000000, "meta"sv}, {1, 5, -1, std::nullopt}}}};
  return m;
}
template <>
offset_commit_response sample(int16_t) {
  offset_commit_response m;
  m.topics = {{"clicks", {{0, 0}, {1, 25}}}};
  return m;
}
template <>
offset_fetch_request sample(int16_t v) {
  offset_fetch_request m;
  m.group_id = "g";
  if (v >= 2) {
    m.topics.reset();  // all partitions
  } else {
    m.topics = std::vector<offset_fetch_request::topic>{{"clicks", {0, 1, 2}}};
  }
  return m;
}
template <>
offset_fetch_response sample(int16_t) {
  offset_fetch_response m;
  m.throttle_time_ms = 4;
  m.topics = {{"clicks", {{0, 100, "meta"sv, 0}, {1, -1, std::nullopt, 0}}}};
  m.error_code = 16;
  return m;
}
template <>
find_coordinator_request sample(int16_t) {
  return {"g", 0};
}
template <>
find_coordinator_response sample(int16_t v) {
  find_coordinator_response m;
  m.throttle_time_ms = 1;
  m.error_message = v >= 1 ? nullable_string("none") : std::nullopt;
  m.node_id = 1;
  m.host = "localhost";
  m.port = 9092;
  return m;
}
template <>
join_group_request sample(int16_t) {
  join_group_request m;
  m.group_id = "g";
  m.session_timeout_ms = 45000;
  m.rebalance_timeout_ms = 300000;
  m.protocol_type = "consumer";
  m.protocols = {{"range", "\0\1meta"sv}, {"roundrobin", ""}};
  return m;
}
template <>
join_group_response sample(int16_t) {
  join_group_response m;
  m.throttle_time_ms = 1;
  m.generation_id = 2;
  m.protocol_name = "range";
  m.leader = "m1";
  m.member_id = "m1";
  m.members = {{"m1", "x"}, {"m2", ""}};
  return m;
}
template <>
sync_group_request sample(int16_t) {
  sync_group_request m;
  m.group_id = "g";
  m.generation_id = 2;
  m.member_id = "m1";
  m.assignments = {{"m1", "\0\0a"sv}, {"m2", "b"}};
  return m;
}
template <>
sync_group_response sample(int16_t) {
  return {1, 27, "assigned"};
}
template <>
heartbeat_request sample(int16_t) {
  return {"g", 2, "m1"};
}
template <>
heartbeat_response sample(int16_t) {
  return {1, 22};
}
template <>
leave_group_request sample(int16_t) {
  return {"g", "m1"};
}
template <>
leave_group_response sample(int16_t) {
  return {1, 25};
}
template <>
list_groups_request sample(int16_t) {
  return {};
}
template <>
list_groups_response sample(int16_t) {
  list_groups_response m;
  m.throttle_time_ms = 1;
  m.groups = {{"g", "consumer"}, {"h", ""}};
  return m;
}
template <>
describe_groups_request sample(int16_t) {
  return {{"g", "h"}};
}
template <>
describe_groups_response sample(int16_t) {
  describe_groups_response m;
  m.throttle_time_ms = 1;
  m.groups = {{0, "g", "Stable", "consumer", "range", {{"m1", "rdkafka", "/127.0.0.1", "md", "as"}}},
              {69, "h", "Dead", "", "", {}}};
  return m;
}
template <>
api_versions_request sample(int16_t) {
  return {"librdkafka", "2.0.2"};
}
template <>
api_versions_response sample(int16_t) {
  api_versions_response m = supported_api_versions();
  m.throttle_time_ms = 1;
  return m;
}
template <>
create_topics_request sample(int16_t) {
  create_topics_request m;
  m.topics = {{"clicks", -1, -1, {}, {{"cleanup.policy", "compact"sv}, {"retention.ms", std::nullopt}}},
              {"placed", 2, 1, {{0, {1}}, {1, {1}}}, {}}};
  m.timeout_ms = 30000;
  m.validate_only = true;
  return m;
}
template <>
create_topics_response sample(int16_t) {
  create_topics_response m;
  m.throttle_time_ms = 1;
  m.topics = {{"clicks", 0, std::nullopt}, {"bad topic", 17, "invalid name"sv}};
  return m;
}
template <>
delete_topics_request sample(int16_t) {
  return {{"a", "b"}, 30000};
}
template <>
delete_topics_response sample(int16_t) {
  delete_topics_response m;
  m.throttle_time_ms = 1;
  m.responses = {{"a", 0}, {"b", 3}};
  return m;
}
template <>
init_producer_id_request sample(int16_t) {
  return {std::nullopt, 60000};
}
template <>
init_producer_id_response sample(int16_t) {
  return {0, 0, 4242, 0};
}
template <>
describe_configs_request sample(int16_t) {
  describe_configs_request m;
  m.resources = {{2, "clicks", std::nullopt},
                 {4, "1", std::vector<std::string_view>{"log.retention.ms", "num.partitions"}}};
  m.include_synonyms = true;
  return m;
}
template <>
describe_configs_response sample(int16_t) {
  describe_configs_response m;
  m.throttle_time_ms = 1;
  describe_configs_response::config c{"retention.ms", "604800000"sv, false, true, 5, false,
                                      {{"log.retention.ms", std::nullopt, 5}}};
  m.results = {{0, std::nullopt, 2, "clicks", {c}}, {3, "unknown topic"sv, 2, "nope", {}}};
  return m;
}

// Encodes, decodes and re-encodes `m`: the bytes must match, the decoder must
// consume them exactly, and a view must point into the encoded bytes.
template <class M>
void check_round_trip(const M& m, int16_t v) {
  std::string bytes;
  REQUIRE(encode(m, v, bytes).ok());
  Result<M> back = decode<M>(bytes, v);
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  std::string again;
  REQUIRE(encode(back.value(), v, again).ok());
  CHECK(again == bytes);
}

// The request goes the whole way a broker takes it: frame, reassembler,
// header, decode_request; the response gets a frame with the right header.
template <class Req, class Resp>
void check_api(int16_t v) {
  CAPTURE(static_cast<int>(Req::kApiKey));
  CAPTURE(v);
  Req req = sample<Req>(v);
  check_round_trip(req, v);
  check_round_trip(sample<Resp>(v), v);

  std::string frame;
  REQUIRE(encode_request_frame(req, v, 77, "client-1"sv, frame).ok());
  frame_reassembler fr;
  REQUIRE(fr.feed(frame).ok());
  std::optional<std::string> got = fr.next();
  REQUIRE(got.has_value());
  Result<request_frame> rf = parse_request_header(*got);
  REQUIRE(rf.ok());
  CHECK(rf->header.api_key == static_cast<int16_t>(Req::kApiKey));
  CHECK(rf->header.api_version == v);
  CHECK(rf->header.correlation_id == 77);
  CHECK(rf->header.client_id == "client-1"sv);
  Result<any_request> decoded = decode_request(rf->header, rf->body);
  REQUIRE_MESSAGE(decoded.ok(), decoded.status().message());
  REQUIRE(std::holds_alternative<Req>(decoded.value()));
  std::string body;
  REQUIRE(encode(std::get<Req>(decoded.value()), v, body).ok());
  CHECK(body == std::string(rf->body));

  std::string resp;
  REQUIRE(encode_response_frame(sample<Resp>(v), v, 77, resp).ok());
  bytes_builder corr;
  corr.i32(77);
  CHECK(resp.substr(4, 4) == corr.s);
  CHECK(resp.size() == 4 + static_cast<size_t>(static_cast<unsigned char>(resp[3]) |
                                               static_cast<unsigned char>(resp[2]) << 8 |
                                               static_cast<unsigned char>(resp[1]) << 16));
}

using all_apis = std::tuple<
    std::pair<produce_request, produce_response>, std::pair<fetch_request, fetch_response>,
    std::pair<list_offsets_request, list_offsets_response>, std::pair<metadata_request, metadata_response>,
    std::pair<offset_commit_request, offset_commit_response>, std::pair<offset_fetch_request, offset_fetch_response>,
    std::pair<find_coordinator_request, find_coordinator_response>,
    std::pair<join_group_request, join_group_response>, std::pair<heartbeat_request, heartbeat_response>,
    std::pair<leave_group_request, leave_group_response>, std::pair<sync_group_request, sync_group_response>,
    std::pair<describe_groups_request, describe_groups_response>,
    std::pair<list_groups_request, list_groups_response>, std::pair<api_versions_request, api_versions_response>,
    std::pair<create_topics_request, create_topics_response>,
    std::pair<delete_topics_request, delete_topics_response>,
    std::pair<init_producer_id_request, init_producer_id_response>,
    std::pair<describe_configs_request, describe_configs_response>>;

// An encoded request (body only) for each API at its highest accepted version.
std::vector<std::tuple<int16_t, int16_t, std::string>> sample_request_bodies() {
  std::vector<std::tuple<int16_t, int16_t, std::string>> out;
  std::apply(
      [&](auto... pairs) {
        (
            [&](auto p) {
              using Req = typename decltype(p)::first_type;
              const api_info* a = find_api(static_cast<int16_t>(Req::kApiKey));
              for (int16_t v = a->accepted_min; v <= a->accepted_max; v++) {
                std::string body;
                REQUIRE(encode(sample<Req>(v), v, body).ok());
                out.emplace_back(static_cast<int16_t>(Req::kApiKey), v, body);
              }
            }(pairs),
            ...);
      },
      all_apis{});
  return out;
}

}  // namespace

TEST_CASE("wire: the API table advertises and accepts exactly the agreed ranges") {
  struct row {
    int16_t key, adv_min, adv_max, acc_min, acc_max;
  };
  const row expected[] = {{18, 0, 4, 0, 4}, {3, 0, 4, 0, 5},  {0, 0, 7, 3, 7},  {1, 4, 10, 4, 10}, {2, 1, 2, 1, 2},
                          {10, 0, 0, 0, 2}, {11, 0, 2, 0, 2}, {14, 0, 1, 0, 1}, {12, 0, 1, 0, 1}, {13, 0, 1, 0, 1},
                          {8, 2, 2, 1, 2},  {9, 1, 3, 1, 3},  {19, 0, 4, 0, 4}, {22, 0, 1, 0, 1}, {20, 0, 1, 0, 1},
                          {32, 0, 1, 0, 1}, {16, 0, 2, 0, 2}, {15, 0, 2, 0, 2}};
  CHECK(api_table().size() == std::size(expected));
  for (const row& r : expected) {
    CAPTURE(r.key);
    const api_info* a = find_api(r.key);
    REQUIRE(a != nullptr);
    CHECK(a->advertised_min == r.adv_min);
    CHECK(a->advertised_max == r.adv_max);
    for (int16_t v = -1; v <= 12; v++) CHECK(accepts(r.key, v) == (r.acc_min <= v && v <= r.acc_max));
  }
  // Produce v0-2 are advertised (for librdkafka's compression check) but refused.
  CHECK_FALSE(accepts(0, 0));
  CHECK_FALSE(accepts(0, 2));
  CHECK_FALSE(accepts(7, 0));  // ControlledShutdown: unknown here
  CHECK_FALSE(accepts(18, 5));
  // Only ApiVersions 3+ is flexible among the accepted versions.
  for (const api_info& a : api_table()) {
    for (int16_t v = a.accepted_min; v <= a.accepted_max; v++) {
      CHECK(is_flexible(static_cast<int16_t>(a.key), v) == (a.key == api_key::api_versions && v >= 3));
    }
  }
  api_versions_response r = supported_api_versions();
  CHECK(r.error_code == 0);
  CHECK(r.api_keys.size() == std::size(expected));
  for (const auto& k : r.api_keys) {
    const api_info* a = find_api(k.api_key);
    CHECK(k.min_version == a->advertised_min);
    CHECK(k.max_version == a->advertised_max);
  }
}

TEST_CASE("wire: every API round-trips at every accepted version, request and response") {
  int checked = 0;
  std::apply(
      [&](auto... pairs) {
        (
            [&](auto p) {
              using Req = typename decltype(p)::first_type;
              using Resp = typename decltype(p)::second_type;
              static_assert(Req::kApiKey == Resp::kApiKey);
              const api_info* a = find_api(static_cast<int16_t>(Req::kApiKey));
              REQUIRE(a != nullptr);
              for (int16_t v = a->accepted_min; v <= a->accepted_max; v++, checked++) check_api<Req, Resp>(v);
            }(pairs),
            ...);
      },
      all_apis{});
  CHECK(checked == 59);  // the accepted versions of the 18 APIs
}

TEST_CASE("wire: ApiVersions v0 response bytes match the schema") {
  api_versions_response m;
  m.api_keys = {{0, 0, 3}, {18, 0, 4}};
  std::string out;
  REQUIRE(encode_response_frame(m, 0, 7, out).ok());
  const std::string expected(
      "\x00\x00\x00\x16"                          // size 22
      "\x00\x00\x00\x07"                          // correlation id (header v0)
      "\x00\x00"                                  // error_code
      "\x00\x00\x00\x02"                          // api_keys: int32 count
      "\x00\x00\x00\x00\x00\x03"                  // Produce 0-3
      "\x00\x12\x00\x00\x00\x04",                 // ApiVersions 0-4
      26);
  CHECK(out == expected);
}

TEST_CASE("wire: ApiVersions v3 response is flexible in the body but keeps header v0") {
  api_versions_response m;
  m.api_keys = {{0, 0, 3}, {18, 0, 4}};
  std::string out;
  REQUIRE(encode_response_frame(m, 3, 7, out).ok());
  const std::string expected(
      "\x00\x00\x00\x1a"                          // size 26
      "\x00\x00\x00\x07"                          // correlation id, no header tags
      "\x00\x00"                                  // error_code
      "\x03"                                      // compact array: 2 + 1
      "\x00\x00\x00\x00\x00\x03\x00"              // Produce 0-3, empty tags
      "\x00\x12\x00\x00\x00\x04\x00"              // ApiVersions 0-4, empty tags
      "\x00\x00\x00\x00"                          // throttle_time_ms
      "\x00",                                     // empty tagged fields
      30);
  CHECK(out == expected);
  std::string v4;
  REQUIRE(encode_response_frame(m, 4, 7, v4).ok());
  CHECK(v4 == expected);  // v4 is v3 on the wire
}

TEST_CASE("wire: a too-new ApiVersions request gets error 35 in the v0 layout") {
  // Header v2 (ApiVersions 5 would be flexible): client_id stays a plain
  // STRING, then an empty tag section; the body is never read.
  bytes_builder req;
  req.i16(18).i16(5).i32(9).str("java").i8(0).raw("\x05" "kafka" "\x04" "9.9" "\x00"sv);
  Result<request_frame> rf = parse_request_header(req.s);
  REQUIRE(rf.ok());
  CHECK(rf->header.api_version == 5);
  CHECK(rf->header.client_id == "java"sv);
  CHECK(rf->body.size() == 11);
  Result<any_request> d = decode_request(rf->header, rf->body);
  CHECK(d.status().is_not_found());
  CHECK_FALSE(accepts(18, 5));

  std::string out;
  REQUIRE(encode_response_frame(unsupported_api_versions_response(), kUnsupportedApiVersionsReplyVersion,
                                rf->header.correlation_id, out)
              .ok());
  const std::string expected(
      "\x00\x00\x00\x10"          // size 16
      "\x00\x00\x00\x09"          // correlation id
      "\x00\x23"                  // error 35
      "\x00\x00\x00\x01"          // one key
      "\x00\x12\x00\x00\x00\x04", // ApiVersions 0-4
      20);
  CHECK(out == expected);
}

TEST_CASE("wire: ApiVersions v3 request with header v2 decodes") {
  bytes_builder b;
  b.i16(18).i16(3).i32(1).str("rdkafka").i8(0);                // header v2
  b.raw("\x0blibrdkafka" "\x06" "2.0.2" "\x00"sv);                 // compact strings + tags
  Result<request_frame> rf = parse_request_header(b.s);
  REQUIRE(rf.ok());
  Result<any_request> d = decode_request(rf->header, rf->body);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  const auto& m = std::get<api_versions_request>(d.value());
  CHECK(m.client_software_name == "librdkafka");
  CHECK(m.client_software_version == "2.0.2");
  // Unknown tagged fields are skipped: tag 5 with 2 bytes, in the header and the body.
  bytes_builder t;
  t.i16(18).i16(3).i32(1).i8(-1).i8(-1).raw("\x01\x05\x02xy"sv);  // null client_id
  t.raw("\x02" "a" "\x02" "b" "\x01\x07\x01z"sv);
  Result<request_frame> rt = parse_request_header(t.s);
  REQUIRE(rt.ok());
  CHECK_FALSE(rt->header.client_id.has_value());
  Result<any_request> dt = decode_request(rt->header, rt->body);
  REQUIRE_MESSAGE(dt.ok(), dt.status().message());
  CHECK(std::get<api_versions_request>(dt.value()).client_software_name == "a");
}

TEST_CASE("wire: Metadata v4 request bytes match the schema") {
  bytes_builder b;
  b.i16(3).i16(4).i32(42).str("rdkafka");  // header v1
  b.i32(2).str("clicks").str("views");     // topics
  b.i8(0);                                 // allow_auto_topic_creation = false
  Result<request_frame> rf = parse_request_header(b.s);
  REQUIRE(rf.ok());
  Result<any_request> d = decode_request(rf->header, rf->body);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  const auto& m = std::get<metadata_request>(d.value());
  REQUIRE(m.topics.has_value());
  REQUIRE(m.topics->size() == 2);
  CHECK((*m.topics)[0].name == "clicks");
  CHECK((*m.topics)[1].name == "views");
  CHECK_FALSE(m.allow_auto_topic_creation);
  // The names are views into the frame, not copies.
  CHECK((*m.topics)[0].name.data() >= b.s.data());
  CHECK((*m.topics)[0].name.data() < b.s.data() + b.s.size());

  std::string frame;
  REQUIRE(encode_request_frame(m, 4, 42, "rdkafka"sv, frame).ok());
  CHECK(frame == frame_of(b.s));

  // Null topics (-1) = all topics, from v1 on; in v0 a null is malformed.
  bytes_builder all;
  all.i32(-1).i8(1);
  Result<metadata_request> a = decode<metadata_request>(all.s, 4);
  REQUIRE(a.ok());
  CHECK_FALSE(a->topics.has_value());
  CHECK(decode<metadata_request>(std::string_view(all.s).substr(0, 4), 0).status().is_corruption());
}

TEST_CASE("wire: Produce v3 request bytes match the schema, records kept opaque") {
  const std::string batch = std::string("\x00\x00\x00\x00\x00\x00\x00\x00", 8) + "any bytes: never parsed here";
  bytes_builder b;
  b.i16(0).i16(3).i32(5).i16(-1);  // header v1, null client_id
  b.i16(-1);                       // transactional_id = null
  b.i16(-1).i32(30000);            // acks, timeout_ms
  b.i32(1).str("clicks");          // one topic
  b.i32(2);                        // two partitions
  b.i32(0).i32(static_cast<int64_t>(batch.size())).raw(batch);
  b.i32(1).i32(-1);                // null records
  Result<request_frame> rf = parse_request_header(b.s);
  REQUIRE(rf.ok());
  CHECK_FALSE(rf->header.client_id.has_value());
  Result<any_request> d = decode_request(rf->header, rf->body);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  const auto& m = std::get<produce_request>(d.value());
  CHECK_FALSE(m.transactional_id.has_value());
  CHECK(m.acks == -1);
  CHECK(m.timeout_ms == 30000);
  REQUIRE(m.topics.size() == 1);
  CHECK(m.topics[0].name == "clicks");
  REQUIRE(m.topics[0].partitions.size() == 2);
  REQUIRE(m.topics[0].partitions[0].records.has_value());
  CHECK(*m.topics[0].partitions[0].records == batch);
  CHECK(m.topics[0].partitions[0].records->data() == rf->body.data() + rf->body.size() - batch.size() - 8);
  CHECK_FALSE(m.topics[0].partitions[1].records.has_value());

  std::string frame;
  REQUIRE(encode_request_frame(m, 3, 5, std::nullopt, frame).ok());
  CHECK(frame == frame_of(b.s));

  // The same bytes as Produce v2 are refused: v0-2 carry pre-RecordBatch sets.
  request_header v2 = rf->header;
  v2.api_version = 2;
  CHECK(decode_request(v2, rf->body).status().is_not_found());
}

TEST_CASE("wire: Fetch v4 response bytes match the schema") {
  fetch_response m;
  m.throttle_time_ms = 0;
  m.responses = {{"clicks",
                  {{0, 0, 120, 120, -1, std::nullopt, "BATCHES"sv, std::nullopt}, {1, 1, -1, -1, -1, std::nullopt, std::nullopt, std::nullopt}}}};
  std::string out;
  REQUIRE(encode_response_frame(m, 4, 11, out).ok());
  bytes_builder b;
  b.i32(11);                               // header v0
  b.i32(0);                                // throttle_time_ms
  b.i32(1).str("clicks");                  // responses
  b.i32(2);                                // partitions
  b.i32(0).i16(0).i64(120).i64(120);       // index, error, high watermark, last stable offset
  b.i32(-1);                               // aborted_transactions = null
  b.i32(7).raw("BATCHES");                 // records
  b.i32(1).i16(1).i64(-1).i64(-1).i32(-1).i32(-1);
  CHECK(out == frame_of(b.s));
  Result<fetch_response> back = decode<fetch_response>(std::string_view(b.s).substr(4), 4);
  REQUIRE(back.ok());
  CHECK(*back->responses[0].partitions[0].records == "BATCHES");
  CHECK(back->responses[0].partitions[1].error_code == 1);
}

TEST_CASE("wire: Fetch v4 request with the fields librdkafka sends decodes") {
  bytes_builder b;
  b.i32(-1).i32(500).i32(1).i32(52428800).i8(0);  // replica, max wait, min bytes, max bytes, isolation
  b.i32(1).str("t").i32(1).i32(0).i64(5).i32(1048576);
  Result<fetch_request> d = decode<fetch_request>(b.s, 4);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  CHECK(d->max_wait_ms == 500);
  CHECK(d->max_bytes == 52428800);
  CHECK(d->topics[0].partitions[0].fetch_offset == 5);
  CHECK(d->topics[0].partitions[0].partition_max_bytes == 1048576);
}

TEST_CASE("wire: Produce v3-7 requests share one layout; v5+ responses add log_start_offset") {
  bytes_builder req;
  req.i16(-1).i16(1).i32(30000).i32(1).str("t").i32(1).i32(2).i32(5).raw("batch");
  produce_response m;
  m.responses = {{"t", {{2, 0, 100, -1, 40}}}};
  m.throttle_time_ms = 9;
  for (int16_t v = 3; v <= 7; v++) {
    CAPTURE(v);
    Result<any_request> d = decode_request({0, v, 1, std::nullopt}, req.s);
    REQUIRE_MESSAGE(d.ok(), d.status().message());
    CHECK(*std::get<produce_request>(d.value()).topics[0].partitions[0].records == "batch");
    bytes_builder want;
    want.i32(1).str("t").i32(1).i32(2).i16(0).i64(100).i64(-1);  // index, error, base offset, log append time
    if (v >= 5) want.i64(40);                                    // log_start_offset
    want.i32(9);                                                 // throttle_time_ms
    std::string out;
    REQUIRE(encode(m, v, out).ok());
    CHECK(out == want.s);
  }
  CHECK(decode_request({0, 8, 1, std::nullopt}, req.s).status().is_not_found());
}

TEST_CASE("wire: Fetch v10 request bytes: session, current leader epoch, forgotten topics") {
  bytes_builder b;
  b.i32(-1).i32(500).i32(1).i32(52428800).i8(0);  // replica, max wait, min bytes, max bytes, isolation
  b.i32(77).i32(4);                               // session id, session epoch
  b.i32(1).str("t").i32(1);                       // one topic, one partition
  b.i32(3).i32(-1).i64(5).i64(-1).i32(1048576);   // partition, leader epoch, offset, log start, max bytes
  b.i32(1).str("gone").i32(2).i32(0).i32(1);      // forgotten: "gone" partitions 0 and 1
  Result<fetch_request> d = decode<fetch_request>(b.s, 10);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  CHECK(d->session_id == 77);
  CHECK(d->session_epoch == 4);
  REQUIRE(d->topics.size() == 1);
  const auto& p = d->topics[0].partitions.at(0);
  CHECK(p.partition == 3);
  CHECK(p.current_leader_epoch == -1);
  CHECK(p.fetch_offset == 5);
  CHECK(p.partition_max_bytes == 1048576);
  REQUIRE(d->forgotten_topics_data.size() == 1);
  CHECK(d->forgotten_topics_data[0].topic == "gone");
  CHECK(d->forgotten_topics_data[0].partitions == std::vector<int32_t>{0, 1});
  std::string again;
  REQUIRE(encode(d.value(), 10, again).ok());
  CHECK(again == b.s);
  // v9 is the same; v7-8 lack the leader epoch; v5-6 the session fields too.
  CHECK(decode<fetch_request>(b.s, 9).ok());
  CHECK_FALSE(decode<fetch_request>(b.s, 8).ok());
  bytes_builder v7;
  v7.i32(-1).i32(500).i32(1).i32(52428800).i8(0).i32(0).i32(-1);
  v7.i32(1).str("t").i32(1).i32(3).i64(5).i64(-1).i32(1048576).i32(0);
  Result<fetch_request> d7 = decode<fetch_request>(v7.s, 7);
  REQUIRE_MESSAGE(d7.ok(), d7.status().message());
  CHECK(d7->session_epoch == -1);
  CHECK(d7->topics[0].partitions[0].current_leader_epoch == -1);  // the default where absent
  bytes_builder v5;
  v5.i32(-1).i32(500).i32(1).i32(52428800).i8(0);
  v5.i32(1).str("t").i32(1).i32(3).i64(5).i64(-1).i32(1048576);
  Result<fetch_request> d5 = decode<fetch_request>(v5.s, 5);
  REQUIRE_MESSAGE(d5.ok(), d5.status().message());
  CHECK(d5->session_epoch == -1);
  CHECK(d5->topics[0].partitions[0].fetch_offset == 5);
}

TEST_CASE("wire: Fetch responses: v5 adds log_start_offset, v7+ a top-level error and session id") {
  fetch_response m;
  m.throttle_time_ms = 0;
  m.session_id = 0;
  m.responses = {{"t", {{0, 0, 120, 120, 3, std::nullopt, "BATCHES"sv, std::nullopt}}}};
  for (int16_t v = 4; v <= 10; v++) {
    CAPTURE(v);
    bytes_builder b;
    b.i32(0);                                  // throttle_time_ms
    if (v >= 7) b.i16(0).i32(0);               // error_code, session_id 0: no session
    b.i32(1).str("t").i32(1);                  // responses
    b.i32(0).i16(0).i64(120).i64(120);         // index, error, high watermark, last stable offset
    if (v >= 5) b.i64(3);                      // log_start_offset
    b.i32(-1);                                 // aborted_transactions = null
    b.i32(7).raw("BATCHES");                   // records
    std::string out;
    REQUIRE(encode(m, v, out).ok());
    CHECK(out == b.s);
  }
  // The answer to an incremental fetch: an error and nothing else.
  fetch_response err;
  err.error_code = 70;
  std::string out;
  REQUIRE(encode(err, 10, out).ok());
  CHECK(out == bytes_builder().i32(0).i16(70).i32(0).i32(0).s);
}

// A broker sends fetched records from files (sendfile): the encoder leaves
// holes for them, and filling each hole must give the very bytes of
// encoding the records inline, in every Fetch version served (4-10).
TEST_CASE("wire: Fetch response records as holes equal the records inline") {
  const std::string a = "FIRST-BATCHES", b(300, 'b');
  for (int16_t v = 4; v <= 10; v++) {
    CAPTURE(v);
    fetch_response inline_m, holed;
    inline_m.responses = {{"t", {{0, 0, 9, 9, 0, std::nullopt, std::string_view(a), std::nullopt},
                                 {1, 0, 9, 9, 0, std::nullopt, ""sv, std::nullopt},
                                 {2, 0, 9, 9, 0, std::nullopt, std::string_view(b), std::nullopt}}}};
    holed = inline_m;
    holed.responses[0].partitions[0].external = external_records{a.size(), 7};
    holed.responses[0].partitions[2].external = external_records{b.size(), 8};
    std::string want, got;
    REQUIRE(encode_response_frame(inline_m, v, 5, want).ok());
    std::vector<hole> holes;
    REQUIRE(encode_response_frame(holed, v, 5, got, &holes).ok());
    REQUIRE(holes.size() == 2);
    CHECK(holes[0].token == 7);
    CHECK(holes[0].length == a.size());
    CHECK(holes[1].token == 8);
    std::string filled = got.substr(0, holes[0].at) + a + got.substr(holes[0].at, holes[1].at - holes[0].at) + b +
                         got.substr(holes[1].at);
    CHECK(filled == want);
    // And it decodes as the inline one does.
    auto d = decode<fetch_response>(std::string_view(filled).substr(8), v);  // after size and correlation id
    REQUIRE(d.ok());
    CHECK(d->responses[0].partitions[2].records == std::string_view(b));
  }
  // Without a list for the holes, external records are an error, not garbage.
  fetch_response m;
  m.responses = {{"t", {{0, 0, 9, 9, 0, std::nullopt, ""sv, external_records{5, 1}}}}};
  std::string out = "keep";
  CHECK(encode_response_frame(m, 10, 5, out).is_invalid());
  CHECK(out == "keep");
}

TEST_CASE("wire: every prefix of an encoded request is rejected cleanly") {
  g_largest_allocation = 0;
  for (const auto& [key, version, body] : sample_request_bodies()) {
    CAPTURE(key);
    CAPTURE(version);
    request_header h{key, version, 1, std::nullopt};
    REQUIRE(decode_request(h, body).ok());
    if (body.empty()) continue;  // ListGroups has no fields below v4
    for (size_t n = 0; n < body.size(); n++) {
      std::string prefix = body.substr(0, n);  // its own buffer: a read past it is an ASan error
      g_track_allocations = true;
      Result<any_request> d = decode_request(h, prefix);
      g_track_allocations = false;
      CHECK(d.status().is_corruption());
    }
    // And a byte too many.
    CHECK(decode_request(h, body + "x").status().is_corruption());
    // Whole frames cut short: the header fails or the body does.
    std::string frame;
    write_request_header(frame, {key, version, 1, "c"sv});
    frame += body;
    for (size_t n = 0; n < frame.size(); n++) {
      std::string cut = frame.substr(0, n);
      Result<request_frame> rf = parse_request_header(cut);
      if (rf.ok()) CHECK_FALSE(decode_request(rf->header, rf->body).ok());
    }
  }
  // Nothing was sized from a length: no allocation beyond small vectors' growth.
  CHECK(g_largest_allocation < 4096);
}

TEST_CASE("wire: hostile lengths and counts are rejected before any allocation") {
  struct hostile {
    const char* what;
    std::string body;
    int16_t key, version;
  };
  std::vector<hostile> cases;
  auto add = [&](const char* what, bytes_builder b, int16_t key, int16_t version) {
    cases.push_back({what, b.s, key, version});
  };
  add("topic count INT32_MAX", bytes_builder().i32(INT32_MAX).raw("abcdefgh"), 3, 4);
  add("topic count -2", bytes_builder().i32(-2).i8(1), 3, 4);
  add("null topics in v0", bytes_builder().i32(-1), 3, 0);
  add("topic name length -5", bytes_builder().i32(1).i16(-5).i8(1), 3, 4);
  add("topic name length 32767", bytes_builder().i32(1).i16(32767).raw("short").i8(1), 3, 4);
  add("null topic name", bytes_builder().i32(1).i16(-1).i8(1), 3, 4);
  add("record set length INT32_MAX",
      bytes_builder().i16(-1).i16(1).i32(1000).i32(1).str("t").i32(1).i32(0).i32(INT32_MAX).raw("xx"), 0, 3);
  add("record set length -7", bytes_builder().i16(-1).i16(1).i32(1000).i32(1).str("t").i32(1).i32(0).i32(-7), 0, 3);
  add("partition count 1e9", bytes_builder().i16(-1).i16(1).i32(1000).i32(1).str("t").i32(1000000000), 0, 3);
  add("fetch partitions INT32_MIN",
      bytes_builder().i32(-1).i32(500).i32(1).i32(100).i8(0).i32(1).str("t").i32(INT32_MIN), 1, 4);
  add("replica list count 2^30", bytes_builder().i32(1).str("t").i32(1).i16(0).i32(1).i32(1 << 30), 19, 0);
  add("offset fetch partition indexes -3", bytes_builder().str("g").i32(1).str("t").i32(-3), 9, 1);
  add("member metadata length INT32_MAX",
      bytes_builder().str("g").i32(1000).str("").str("consumer").i32(1).str("range").i32(INT32_MAX), 11, 0);
  add("compact string length 2^32-1 (varint)", bytes_builder().raw("\xff\xff\xff\xff\x0f"sv), 18, 3);
  add("varint over 5 bytes", bytes_builder().raw("\xff\xff\xff\xff\xff\x01"sv), 18, 3);
  add("tag section with a huge tag size", bytes_builder().raw("\x01" "a" "\x01" "b" "\x01\x00\xff\xff\xff\x0f"sv), 18,
      3);
  add("tag count 2^32-1", bytes_builder().raw("\x01\x01\xff\xff\xff\xff\x0f"sv), 18, 3);
  add("config keys count INT32_MAX", bytes_builder().i32(1).i8(2).str("t").i32(INT32_MAX), 32, 0);
  add("delete topic names -9", bytes_builder().i32(-9).i32(0), 20, 1);
  for (const hostile& c : cases) {
    CAPTURE(c.what);
    g_largest_allocation = 0;
    g_track_allocations = true;
    Result<any_request> d = decode_request({c.key, c.version, 1, std::nullopt}, c.body);
    g_track_allocations = false;
    CHECK(d.status().is_corruption());
    CHECK(g_largest_allocation < 1024);
  }
  // The error names what was wrong and where.
  Result<metadata_request> m = decode<metadata_request>(bytes_builder().i32(INT32_MAX).raw("abcdefgh").s, 4);
  CHECK(m.status().message().find("array count 2147483647") != std::string::npos);
  CHECK(m.status().message().find("at byte 4") != std::string::npos);
}

TEST_CASE("wire: a malformed header is rejected") {
  CHECK(parse_request_header("").status().is_corruption());
  CHECK(parse_request_header(bytes_builder().i16(3).i16(4).i32(1).s).status().is_corruption());  // no client_id
  CHECK(parse_request_header(bytes_builder().i16(3).i16(4).i32(1).i16(9).raw("abc").s).status().is_corruption());
  // An unknown key parses (as header v1) so the broker can name it, then is refused.
  const std::string unknown = bytes_builder().i16(57).i16(0).i32(1).str("c").raw("zz").s;
  Result<request_frame> rf = parse_request_header(unknown);
  REQUIRE(rf.ok());
  CHECK(rf->body == "zz");
  Result<any_request> d = decode_request(rf->header, rf->body);
  CHECK(d.status().is_not_found());
  CHECK(d.status().message() == "unknown API key 57");
}

TEST_CASE("wire: response header versions") {
  CHECK(response_header_version(18, 3) == 0);  // ApiVersions: always v0
  CHECK(response_header_version(18, 0) == 0);
  CHECK(response_header_version(3, 4) == 0);
  CHECK(response_header_version(3, 9) == 1);  // flexible Metadata
  CHECK(request_header_version(18, 3) == 2);
  CHECK(request_header_version(18, 2) == 1);
  CHECK(request_header_version(0, 3) == 1);
  std::string out;
  write_response_header(out, 3, 9, 5);
  CHECK(out == std::string("\x00\x00\x00\x05\x00", 5));
}

TEST_CASE("wire: the writer refuses values a version cannot carry") {
  metadata_request m;
  m.topics.reset();
  std::string out;
  CHECK(encode(m, 0, out).is_invalid());  // null topics before v1
  CHECK(encode(m, 1, out).ok());
  produce_request p;
  std::string long_name(40000, 'x');
  p.topics = {{long_name, {}}};
  out.clear();
  CHECK(encode(p, 3, out).is_invalid());
  std::string framed = "keep";
  CHECK(encode_response_frame(metadata_response{}, 4, 1, framed).ok());
  size_t before = framed.size();
  produce_response bad;
  bad.responses = {{long_name, {}}};
  CHECK(encode_response_frame(bad, 3, 1, framed).is_invalid());
  CHECK(framed.size() == before);  // nothing half-written is left behind
}

namespace {
std::string three_frames() {
  std::string s;
  REQUIRE(encode_request_frame(sample<metadata_request>(4), 4, 1, "a"sv, s).ok());
  REQUIRE(encode_request_frame(sample<produce_request>(3), 3, 2, "b"sv, s).ok());
  REQUIRE(encode_request_frame(list_groups_request{}, 0, 3, std::nullopt, s).ok());
  return s;
}
void check_three(frame_reassembler& fr) {
  for (int32_t want = 1; want <= 3; want++) {
    std::optional<std::string> f = fr.next();
    REQUIRE(f.has_value());
    Result<request_frame> rf = parse_request_header(*f);
    REQUIRE(rf.ok());
    CHECK(rf->header.correlation_id == want);
    CHECK(decode_request(rf->header, rf->body).ok());
  }
  CHECK_FALSE(fr.next().has_value());
  CHECK(fr.partial_bytes() == 0);
}
}  // namespace

TEST_CASE("wire: frame reassembler, byte by byte") {
  std::string s = three_frames();
  frame_reassembler fr;
  for (char c : s) REQUIRE(fr.feed(std::string_view(&c, 1)).ok());
  check_three(fr);
}

TEST_CASE("wire: frame reassembler, several frames per chunk and chunks across frames") {
  std::string s = three_frames();
  {
    frame_reassembler fr;
    REQUIRE(fr.feed(s).ok());  // all in one
    check_three(fr);
  }
  for (size_t chunk : {2, 3, 5, 7, 13, 64}) {
    CAPTURE(chunk);
    frame_reassembler fr;
    for (size_t at = 0; at < s.size(); at += chunk) REQUIRE(fr.feed(std::string_view(s).substr(at, chunk)).ok());
    check_three(fr);
  }
  // The stream twice in one chunk with the start of a third copy: 6 frames, then a remainder.
  frame_reassembler fr;
  REQUIRE(fr.feed(s + s + s.substr(0, 10)).ok());
  for (int i = 0; i < 6; i++) REQUIRE(fr.next().has_value());
  CHECK_FALSE(fr.next().has_value());
  CHECK(fr.partial_bytes() == 10);
  REQUIRE(fr.feed(std::string_view(s).substr(10)).ok());
  check_three(fr);
}

TEST_CASE("wire: frame reassembler rejects negative and oversized sizes, naming size and limit") {
  {
    frame_reassembler fr;
    Status st = fr.feed(bytes_builder().i32(-1).s);
    CHECK(st.is_invalid());
    CHECK(st.message() == "frame size -1 is negative");
  }
  {
    frame_reassembler fr;
    std::string good;
    REQUIRE(encode_request_frame(heartbeat_request{"g", 1, "m"}, 0, 1, std::nullopt, good).ok());
    g_largest_allocation = 0;
    g_track_allocations = true;
    Status st = fr.feed(good + bytes_builder().i32(kMaxRequestBytes + 1).s);
    g_track_allocations = false;
    CHECK(st.is_invalid());
    CHECK(st.message() == "frame size 104857601 is over the limit of 104857600 bytes");
    CHECK(fr.feed("more").is_invalid());  // sticky: the stream cannot be resynchronised
    CHECK(fr.next().has_value());         // the frame before the bad size is still handed out
  }
  {
    // A size at the limit is accepted, and only what arrives is buffered.
    frame_reassembler fr;
    g_largest_allocation = 0;
    g_track_allocations = true;
    CHECK(fr.feed(bytes_builder().i32(kMaxRequestBytes).raw("abc").s).ok());
    g_track_allocations = false;
    CHECK(g_largest_allocation <= 64 * 1024 + 1);  // the initial reserve (and its NUL)
    CHECK(fr.partial_bytes() == 7);
    CHECK_FALSE(fr.next().has_value());
  }
  {
    frame_reassembler fr(16);
    CHECK(fr.feed(bytes_builder().i32(17).s).message() == "frame size 17 is over the limit of 16 bytes");
  }
  {
    frame_reassembler fr;  // an empty frame is a frame (its header then fails to parse)
    REQUIRE(fr.feed(bytes_builder().i32(0).s).ok());
    std::optional<std::string> f = fr.next();
    REQUIRE(f.has_value());
    CHECK(f->empty());
    CHECK(parse_request_header(*f).status().is_corruption());
  }
}
