#include "wire/header.h"

#include "wire/api_versions.h"
#include "wire/reader.h"
#include "wire/writer.h"

namespace kappa::wire {

int16_t request_header_version(int16_t key, int16_t version) { return is_flexible(key, version) ? 2 : 1; }

int16_t response_header_version(int16_t key, int16_t version) {
  if (key == static_cast<int16_t>(api_key::api_versions)) return 0;
  return is_flexible(key, version) ? 1 : 0;
}

Result<request_frame> parse_request_header(std::string_view frame) {
  request_frame f;
  request_header& h = f.header;
  // The fixed fields and client_id are never compact, whatever the version.
  reader r(frame, 1, false);
  r.i16(h.api_key);
  r.i16(h.api_version);
  r.i32(h.correlation_id);
  r.nullable_string(h.client_id);
  if (!r.ok()) return r.finish().with_context("request header");
  std::string_view rest = frame.substr(frame.size() - r.remaining());
  if (request_header_version(h.api_key, h.api_version) == 2) {
    reader tags(rest, h.api_version, true);
    tags.tagged_fields();
    if (!tags.ok()) return tags.finish().with_context("request header tagged fields");
    rest = rest.substr(rest.size() - tags.remaining());
  }
  f.body = rest;
  return f;
}

void write_request_header(std::string& out, const request_header& h) {
  writer w(out, 1, false);
  w.i16(h.api_key);
  w.i16(h.api_version);
  w.i32(h.correlation_id);
  w.nullable_string(h.client_id);
  if (request_header_version(h.api_key, h.api_version) == 2) out.push_back(0);  // no tagged fields
}

void write_response_header(std::string& out, int16_t key, int16_t version, int32_t correlation_id) {
  writer w(out, 0, false);
  w.i32(correlation_id);
  if (response_header_version(key, version) == 1) out.push_back(0);  // no tagged fields
}

}  // namespace kappa::wire
