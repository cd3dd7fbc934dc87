// Encoding and decoding whole messages, and the entry points a broker calls:
//
//   frame_reassembler (frame.h)  bytes from the socket -> whole frames
//   parse_request_header         frame -> header + body view
//   decode_request               header + body -> any_request (by key/version)
//   encode_response_frame        response struct -> size + header + body
//
// Every message type M (messages_*.h) has M::kApiKey and a schema function
// fields(io, m); encode/decode wrap it with the version's flexibility and
// the message's closing tagged-field section.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "kappa/status.h"
#include "wire/api_versions.h"
#include "wire/frame.h"
#include "wire/header.h"
#include "wire/messages_admin.h"
#include "wire/messages_group.h"
#include "wire/messages_produce_fetch.h"
#include "wire/reader.h"
#include "wire/writer.h"

namespace kappa::wire {

// Appends the body of `m` as `version` to `out`. Invalid if `m` holds a value
// the version cannot carry; `out` then ends in garbage the caller drops.
// The version is not checked against the API table.
// External records (schema.h) become holes noted in `holes`.
template <class M>
Status encode(const M& m, int16_t version, std::string& out, std::vector<hole>* holes = nullptr) {
  writer w(out, version, is_flexible(static_cast<int16_t>(M::kApiKey), version), holes);
  fields(w, m);
  w.tagged_fields();
  return w.finish();
}

// Decodes a whole body as `version` of M. Corruption if the body is
// truncated, malformed or longer than the message. The version is not checked
// against the API table. The result's strings are views into `body`.
template <class M>
Result<M> decode(std::string_view body, int16_t version) {
  M m;
  reader r(body, version, is_flexible(static_cast<int16_t>(M::kApiKey), version));
  fields(r, m);
  r.tagged_fields();
  KAPPA_RETURN_IF_ERROR(r.finish());
  return m;
}

// Every request this layer decodes.
using any_request =
    std::variant<produce_request, fetch_request, list_offsets_request, metadata_request, offset_commit_request,
                 offset_fetch_request, find_coordinator_request, join_group_request, heartbeat_request,
                 leave_group_request, sync_group_request, describe_groups_request, list_groups_request,
                 api_versions_request, create_topics_request, delete_topics_request, init_producer_id_request,
                 describe_configs_request>;

// Decodes the body of a request whose header is `h`. Errors:
// - NotFound: the key is unknown, or the version is not accepted (accepts()
//   is false); the broker closes the connection, except for an ApiVersions
//   request above our range, which it answers with
//   unsupported_api_versions_response().
// - Corruption: the body does not decode as that version; the message names
//   the API, the version and the byte.
// The request's strings and record sets are views into `body`.
Result<any_request> decode_request(const request_header& h, std::string_view body);

// Appends one whole response frame: size prefix, the response header for
// `version` (response_header_version) and `m` encoded as `version`.
// External records become holes appended to `holes` (positions in `out`);
// the frame's size counts them. On error `out` and `holes` are left as they
// were.
template <class M>
Status encode_response_frame(const M& m, int16_t version, int32_t correlation_id, std::string& out,
                             std::vector<hole>* holes = nullptr) {
  size_t start = begin_frame(out);
  size_t first_hole = holes ? holes->size() : 0;
  write_response_header(out, static_cast<int16_t>(M::kApiKey), version, correlation_id);
  Status st = encode(m, version, out, holes);
  uint64_t hole_bytes = 0;
  for (size_t i = first_hole; holes && i < holes->size(); i++) hole_bytes += (*holes)[i].length;
  if (st.ok() && out.size() - start - kFrameSizeBytes + hole_bytes > static_cast<uint64_t>(INT32_MAX))
    st = Status::Invalid("a response of " + std::to_string(out.size() - start + hole_bytes) + " bytes");
  if (!st.ok()) {
    out.resize(start);
    if (holes) holes->resize(first_hole);
    return st;
  }
  end_frame(out, start, hole_bytes);
  return st;
}

// Appends one whole request frame (for tests and tools that play the client).
template <class M>
Status encode_request_frame(const M& m, int16_t version, int32_t correlation_id, nullable_string client_id,
                            std::string& out) {
  size_t start = begin_frame(out);
  write_request_header(out, {static_cast<int16_t>(M::kApiKey), version, correlation_id, client_id});
  Status st = encode(m, version, out);
  if (!st.ok()) {
    out.resize(start);
    return st;
  }
  end_frame(out, start);
  return st;
}

}  // namespace kappa::wire
