// wire::writer encodes one Kafka message body by appending to a string: the
// encoding half of the schema functions in messages_*.h (reader.h is the
// other half, with the same calls).
//
// Contracts:
// - Appends only; what `out` held before is left alone, so a caller can
//   write a frame's size and header first (frame.h) and the body after.
// - A field whose version_range excludes the writer's version is not
//   written, whatever its value.
// - No exceptions. A value the version cannot carry (a null where the version
//   has no nullable form, a string over 32767 bytes) is remembered as the
//   first error, and finish() returns it; the bytes written are then garbage
//   and must not be sent.
// - Flexible versions: compact lengths (unsigned varint N+1) and an empty
//   tagged-field section after every struct.
// - External records (schema.h) are not written: their length is, and a hole
//   is noted in the caller's list (`holes`), which must then be given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kappa/status.h"
#include "wire/schema.h"
#include "wire/version_range.h"

namespace kappa::wire {

class writer {
 public:
  // REQUIRES: `out` outlives the writer.
  writer(std::string& out, int16_t version, bool flexible, std::vector<hole>* holes = nullptr)
      : out_(out), version_(version), flexible_(flexible), holes_(holes) {}

  int16_t version() const { return version_; }
  bool flexible() const { return flexible_; }
  bool ok() const { return error_.empty(); }

  void i8(int8_t v, version_range in = kAll);
  void i16(int16_t v, version_range in = kAll);
  void i32(int32_t v, version_range in = kAll);
  void i64(int64_t v, version_range in = kAll);
  void boolean(bool v, version_range in = kAll);

  void string(std::string_view v, version_range in = kAll);
  void nullable_string(const std::optional<std::string_view>& v, version_range in = kAll,
                       version_range nullable = kAll);
  void bytes(std::string_view v, version_range in = kAll);
  // The record set is copied as it is (Kafka's RecordBatch bytes).
  void records(const std::optional<std::string_view>& v, version_range in = kAll);
  // The record set `ext` if set (a hole), else `v`.
  void records(const std::optional<std::string_view>& v, const std::optional<external_records>& ext,
               version_range in = kAll);

  void int32s(const std::vector<int32_t>& v, version_range in = kAll);
  void strings(const std::vector<std::string_view>& v, version_range in = kAll);
  void nullable_strings(const std::optional<std::vector<std::string_view>>& v, version_range in = kAll,
                        version_range nullable = kAll);

  // An array of structs: `each(const T&)` writes one element's fields.
  template <class T, class F>
  void array(const std::vector<T>& v, F&& each, version_range in = kAll) {
    if (!in.contains(version_)) return;
    array_length(static_cast<int64_t>(v.size()));
    write_structs(v, each);
  }
  template <class T, class F>
  void nullable_array(const std::optional<std::vector<T>>& v, F&& each, version_range in = kAll,
                      version_range nullable = kAll) {
    if (!in.contains(version_)) return;
    if (!v) {
      null_length(nullable, true);
      return;
    }
    array_length(static_cast<int64_t>(v->size()));
    write_structs(*v, each);
  }

  // An empty tagged-field section (flexible versions only).
  void tagged_fields();

  // OK, or Invalid naming the first value that could not be written.
  Status finish() const;

 private:
  template <class T, class F>
  void write_structs(const std::vector<T>& v, F& each) {
    for (const T& e : v) {
      each(e);
      if (flexible_) tagged_fields();
    }
  }
  void uvarint(uint64_t u);
  void length(int64_t n, bool wide);
  void array_length(int64_t n);
  void null_length(version_range nullable, bool array);
  void fail(const std::string& what);

  std::string& out_;
  int16_t version_;
  bool flexible_;
  std::vector<hole>* holes_;
  std::string error_;
};

}  // namespace kappa::wire
