// What the messages_*.h schema functions share.
//
// Each message has one schema function, fields(io, m), that lists its fields
// in wire order with the versions each exists in. It is a template over the
// Io: wire::reader (m non-const: fills it) or wire::writer (m const: writes
// it), which both offer the same calls (i16, string, array, ...). A version is
// therefore a condition on a field, never a second parser.
#pragma once

#include <concepts>
#include <type_traits>

#include "wire/api_key.h"
#include "wire/version_range.h"

namespace kappa::wire {

// M is T or const T: lets one fields() overload serve reader and writer.
template <class M, class T>
concept schema_of = std::same_as<std::remove_const_t<M>, T>;

}  // namespace kappa::wire

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace kappa::wire {

// Field types of the message structs. Strings and bytes are views: into the
// request buffer after decoding, into the caller's storage before encoding.
using nullable_string = std::optional<std::string_view>;
// RECORDS: RecordBatch bytes, kept opaque; null is distinct from empty.
using record_set = std::optional<std::string_view>;

// RECORDS the encoder does not copy (a broker sends them from a file with
// sendfile(2)): it writes their length and leaves a hole of that many bytes
// in its output for the caller to fill. `token` is the caller's, handed back
// with the hole.
struct external_records {
  uint64_t length = 0;
  uint64_t token = 0;
};
// A hole in encoded output: `length` bytes of external_records `token` go
// right before out[at] (after the bytes written before it).
struct hole {
  size_t at = 0;
  uint64_t length = 0;
  uint64_t token = 0;
};

}  // namespace kappa::wire
