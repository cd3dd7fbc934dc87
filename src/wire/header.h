// Request and response headers.
//
// Request header v1: api_key int16, api_version int16, correlation_id int32,
// client_id NULLABLE_STRING. v2 (for a flexible request version) appends a
// tagged-field section; client_id stays a non-compact string. Response
// header v0 is the correlation id alone; v1 (flexible responses) appends an
// empty tagged-field section, except that ApiVersions responses always use
// v0, so a client can read the answer before it knows what we speak.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kappa/status.h"
#include "wire/schema.h"

namespace kappa::wire {

struct request_header {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  nullable_string client_id;
};

// A frame split into its header and its body (a view into the frame).
struct request_frame {
  request_header header;
  std::string_view body;
};

// 2 if `version` of `key` is flexible, else 1 (also for an unknown key).
int16_t request_header_version(int16_t key, int16_t version);
// 1 if `version` of `key` is flexible, else 0; always 0 for ApiVersions.
int16_t response_header_version(int16_t key, int16_t version);

// Splits a frame (size prefix stripped) into header and body. The key and
// version are not checked against the API table (api_versions.h: accepts),
// so that the caller can tell an unknown key from a malformed frame, and can
// answer a too-new ApiVersions. Corruption if the header is truncated or
// malformed. The body and client_id are views into `frame`.
Result<request_frame> parse_request_header(std::string_view frame);

// Appends a request header (used by tests and tools that play the client).
void write_request_header(std::string& out, const request_header& h);
// Appends the response header for a response to `version` of `key`.
void write_response_header(std::string& out, int16_t key, int16_t version, int32_t correlation_id);

}  // namespace kappa::wire
