#include "wire/writer.h"

#include "util/big_endian.h"

namespace kappa::wire {

void writer::fail(const std::string& what) {
  if (error_.empty()) error_ = what + " (version " + std::to_string(version_) + ")";
}

void writer::i8(int8_t v, version_range in) {
  if (in.contains(version_)) out_.push_back(static_cast<char>(v));
}
void writer::i16(int16_t v, version_range in) {
  if (!in.contains(version_)) return;
  char b[2];
  be::store16(b, static_cast<uint16_t>(v));
  out_.append(b, 2);
}
void writer::i32(int32_t v, version_range in) {
  if (!in.contains(version_)) return;
  char b[4];
  be::store32(b, static_cast<uint32_t>(v));
  out_.append(b, 4);
}
void writer::i64(int64_t v, version_range in) {
  if (!in.contains(version_)) return;
  char b[8];
  be::store64(b, static_cast<uint64_t>(v));
  out_.append(b, 8);
}
void writer::boolean(bool v, version_range in) {
  if (in.contains(version_)) out_.push_back(v ? 1 : 0);
}

void writer::uvarint(uint64_t u) {
  while (u >= 0x80) {
    out_.push_back(static_cast<char>(u | 0x80));
    u >>= 7;
  }
  out_.push_back(static_cast<char>(u));
}

void writer::length(int64_t n, bool wide) {
  if (flexible_) {
    if (n > INT32_MAX - 1) fail("length " + std::to_string(n) + " too long");
    uvarint(static_cast<uint64_t>(n) + 1);
  } else if (wide) {
    if (n > INT32_MAX) fail("length " + std::to_string(n) + " over int32");
    i32(static_cast<int32_t>(n));
  } else {
    if (n > INT16_MAX) fail("string of " + std::to_string(n) + " bytes, over the 32767 a STRING carries");
    i16(static_cast<int16_t>(n));
  }
}

void writer::array_length(int64_t n) {
  if (n > INT32_MAX - 1) fail("array of " + std::to_string(n) + " elements");
  if (flexible_) {
    uvarint(static_cast<uint64_t>(n) + 1);
  } else {
    i32(static_cast<int32_t>(n));
  }
}

void writer::null_length(version_range nullable, bool array) {
  if (!nullable.contains(version_)) fail(array ? "null array where the version allows none" : "null where the version allows none");
  if (flexible_) {
    uvarint(0);
  } else if (array) {
    i32(-1);
  } else {
    i16(-1);
  }
}

void writer::string(std::string_view v, version_range in) {
  if (!in.contains(version_)) return;
  length(static_cast<int64_t>(v.size()), false);
  out_.append(v);
}

void writer::nullable_string(const std::optional<std::string_view>& v, version_range in, version_range nullable) {
  if (!in.contains(version_)) return;
  if (!v) return null_length(nullable, false);
  string(*v);
}

void writer::bytes(std::string_view v, version_range in) {
  if (!in.contains(version_)) return;
  length(static_cast<int64_t>(v.size()), true);
  out_.append(v);
}

void writer::records(const std::optional<std::string_view>& v, version_range in) {
  if (!in.contains(version_)) return;
  if (!v) {
    if (flexible_) {
      uvarint(0);
    } else {
      i32(-1);
    }
    return;
  }
  bytes(*v);
}

void writer::records(const std::optional<std::string_view>& v, const std::optional<external_records>& ext,
                     version_range in) {
  if (!ext) return records(v, in);
  if (!in.contains(version_)) return;
  if (!holes_) return fail("external records with nowhere to note their hole");
  if (ext->length > static_cast<uint64_t>(INT32_MAX - 1)) return fail("records of " + std::to_string(ext->length) + " bytes");
  length(static_cast<int64_t>(ext->length), true);
  holes_->push_back({out_.size(), ext->length, ext->token});
}

void writer::int32s(const std::vector<int32_t>& v, version_range in) {
  if (!in.contains(version_)) return;
  array_length(static_cast<int64_t>(v.size()));
  for (int32_t x : v) i32(x);
}

void writer::strings(const std::vector<std::string_view>& v, version_range in) {
  if (!in.contains(version_)) return;
  array_length(static_cast<int64_t>(v.size()));
  for (std::string_view s : v) string(s);
}

void writer::nullable_strings(const std::optional<std::vector<std::string_view>>& v, version_range in,
                              version_range nullable) {
  if (!in.contains(version_)) return;
  if (!v) return null_length(nullable, true);
  strings(*v);
}

void writer::tagged_fields() {
  if (flexible_) out_.push_back(0);
}

Status writer::finish() const { return error_.empty() ? Status::OK() : Status::Invalid(error_); }

}  // namespace kappa::wire
