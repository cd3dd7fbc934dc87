// wire::reader decodes one Kafka message body from a byte span: the decoding
// half of the schema functions in messages_*.h (writer.h is the other half).
//
// Contracts:
// - Zero copy. Strings, bytes and record sets come back as views into the
//   span given to the constructor, which must stay alive (and unchanged) for
//   as long as the decoded message is used.
// - Bounds-checked, no exceptions. The first error (a field running past the
//   end, a negative or oversized length, a null where the version allows
//   none) is remembered; every later call is a no-op that leaves its field at
//   its default, and finish() returns the error, naming the byte offset.
// - Hostile lengths cannot drive allocation: every length and array count is
//   checked against the bytes left before anything is sized from it, and an
//   array of structs grows only as its elements are actually decoded (each
//   takes at least one byte), so memory stays proportional to the input.
// - A field whose version_range excludes the reader's version is not read and
//   keeps the value the struct initialises it with (Kafka's default).
// - Flexible versions (KIP-482): compact strings, bytes and arrays (unsigned
//   varint N+1, 0 = null) and a tagged-field section after every struct;
//   tagged fields are skipped, as no tagged field is used by this layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kappa/status.h"
#include "wire/schema.h"
#include "wire/version_range.h"

namespace kappa::wire {

class reader {
 public:
  // Reads `bytes` as a message body of `version`; `flexible` says whether
  // that version uses the compact encodings (api_versions.h: is_flexible).
  reader(std::string_view bytes, int16_t version, bool flexible)
      : begin_(bytes.data()), p_(bytes.data()), end_(bytes.data() + bytes.size()), version_(version), flexible_(flexible) {}

  int16_t version() const { return version_; }
  bool flexible() const { return flexible_; }
  bool ok() const { return !failed_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

  // Fixed-width big-endian integers; boolean is one byte, non-zero = true.
  void i8(int8_t& v, version_range in = kAll);
  void i16(int16_t& v, version_range in = kAll);
  void i32(int32_t& v, version_range in = kAll);
  void i64(int64_t& v, version_range in = kAll);
  void boolean(bool& v, version_range in = kAll);

  // STRING (int16 length) or COMPACT_STRING; null is an error.
  void string(std::string_view& v, version_range in = kAll);
  // NULLABLE_STRING: length -1 (compact: 0) is null where `nullable` holds.
  void nullable_string(std::optional<std::string_view>& v, version_range in = kAll, version_range nullable = kAll);
  // BYTES (int32 length) or COMPACT_BYTES; null is an error.
  void bytes(std::string_view& v, version_range in = kAll);
  // RECORDS: nullable bytes holding record batches, kept opaque.
  void records(std::optional<std::string_view>& v, version_range in = kAll);
  // Records always decode into `v`; `external` is the encoder's only.
  void records(std::optional<std::string_view>& v, std::optional<external_records>&, version_range in = kAll) {
    records(v, in);
  }

  // Arrays of int32 and of strings ("[]int32", "[]string").
  void int32s(std::vector<int32_t>& v, version_range in = kAll);
  void strings(std::vector<std::string_view>& v, version_range in = kAll);
  void nullable_strings(std::optional<std::vector<std::string_view>>& v, version_range in = kAll,
                        version_range nullable = kAll);

  // An array of structs: `each(T&)` decodes one element's fields; in flexible
  // versions each element's tagged-field section follows.
  template <class T, class F>
  void array(std::vector<T>& v, F&& each, version_range in = kAll) {
    if (!in.contains(version_) || failed_) return;
    int64_t n = array_length(false, 1);
    read_structs(v, n, each);
  }
  // The same, where a null array (length -1, compact 0) is allowed in `nullable`.
  template <class T, class F>
  void nullable_array(std::optional<std::vector<T>>& v, F&& each, version_range in = kAll,
                      version_range nullable = kAll) {
    if (!in.contains(version_) || failed_) return;
    int64_t n = array_length(nullable.contains(version_), 1);
    if (n < 0) {
      v.reset();
      return;
    }
    v.emplace();
    read_structs(*v, n, each);
  }

  // A tagged-field section (flexible versions only): every tag is skipped.
  void tagged_fields();

  // OK if every read succeeded and the body was consumed exactly; otherwise
  // Corruption naming the first problem and where it was. Trailing bytes are
  // an error: they mean the version or the schema does not match the sender.
  Status finish() const;

 private:
  template <class T, class F>
  void read_structs(std::vector<T>& v, int64_t n, F& each) {
    v.clear();
    for (int64_t i = 0; i < n && !failed_; i++) {
      each(v.emplace_back());
      if (flexible_) tagged_fields();
    }
  }
  bool need(size_t n);
  void fail(const std::string& what);
  uint64_t uvarint();
  // A length for a string or bytes field: -1 for null, else 0..remaining().
  int64_t length(bool wide, bool nullable);
  // An array count: -1 for null, else at most remaining() / min_element_bytes.
  int64_t array_length(bool nullable, size_t min_element_bytes);

  const char* begin_;
  const char* p_;
  const char* end_;
  int16_t version_;
  bool flexible_;
  bool failed_ = false;
  std::string error_;
};

}  // namespace kappa::wire
