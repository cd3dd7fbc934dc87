// Prints records for `kappa consume`: the value alone (default), kcat's
// -f tokens, or a JSON envelope per record.
//
// kcat tokens: %t topic, %p partition, %o offset, %k key, %s value,
// %T timestamp (ms), %K key length, %S value length (-1 for null),
// %h headers (k=v,k2=v2), %% a percent sign; escapes \n \t \r \\ \0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/output_buffer.h"
#include "kappa/record.h"
#include "kappa/status.h"
#include "util/json_string.h"

namespace kappa {

class record_formatter {
 public:
  enum class mode { value_line, format, json };
  // Invalid for an unknown %-token or a dangling escape, naming it.
  static Result<record_formatter> make(mode m, std::string_view format);

  void write(output_buffer& out, std::string_view topic, int32_t partition, const record_view& r) const;

 private:
  enum class op : uint8_t { literal, topic, partition, offset, key, value, timestamp, key_len, value_len, headers };
  struct piece {
    op kind;
    std::string text;
  };
  mode mode_ = mode::value_line;
  std::vector<piece> pieces_;
};

}  // namespace kappa
