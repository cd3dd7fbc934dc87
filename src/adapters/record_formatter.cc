#include "adapters/record_formatter.h"

#include <charconv>

namespace kappa {

Result<record_formatter> record_formatter::make(mode m, std::string_view f) {
  record_formatter rf;
  rf.mode_ = m;
  if (m != mode::format) return rf;
  std::string lit;
  auto flush_lit = [&] {
    if (!lit.empty()) rf.pieces_.push_back({op::literal, std::move(lit)});
    lit.clear();
  };
  for (size_t i = 0; i < f.size(); i++) {
    char c = f[i];
    if (c == '\\') {
      if (i + 1 >= f.size()) return Status::Invalid("format ends with a lone backslash");
      char e = f[++i];
      switch (e) {
        case 'n': lit += '\n'; break;
        case 't': lit += '\t'; break;
        case 'r': lit += '\r'; break;
        case '0': lit += '\0'; break;
        case '\\': lit += '\\'; break;
        default: lit += '\\'; lit += e;
      }
      continue;
    }
    if (c != '%') {
      lit += c;
      continue;
    }
    if (i + 1 >= f.size()) return Status::Invalid("format ends with a lone '%'");
    char t = f[++i];
    op k;
    switch (t) {
      case 't': k = op::topic; break;
      case 'p': k = op::partition; break;
      case 'o': k = op::offset; break;
      case 'k': k = op::key; break;
      case 's': k = op::value; break;
      case 'T': k = op::timestamp; break;
      case 'K': k = op::key_len; break;
      case 'S': k = op::value_len; break;
      case 'h': k = op::headers; break;
      case '%': lit += '%'; continue;
      default:
        return Status::Invalid(std::string("unknown format token '%") + t + "'; known: %t %p %o %k %s %T %K %S %h %%");
    }
    flush_lit();
    rf.pieces_.push_back({k, {}});
  }
  flush_lit();
  return rf;
}

static void put_int(output_buffer& out, int64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  out.put(std::string_view(b, static_cast<size_t>(r.ptr - b)));
}

void record_formatter::write(output_buffer& out, std::string_view topic, int32_t partition,
                             const record_view& r) const {
  if (mode_ == mode::value_line) {
    out.put(r.value.view());
    out.put('\n');
    return;
  }
  if (mode_ == mode::json) {
    thread_local std::string s;
    s.clear();
    s += "{\"topic\":";
    append_json_string(s, topic);
    s += ",\"partition\":" + std::to_string(partition) + ",\"offset\":" + std::to_string(r.offset) +
         ",\"timestamp\":" + std::to_string(r.timestamp) + ",\"key\":";
    if (r.key.is_null())
      s += "null";
    else
      append_json_string(s, r.key.view());
    s += ",\"value\":";
    if (r.value.is_null())
      s += "null";
    else
      append_json_string(s, r.value.view());
    s += "}\n";
    out.put(s);
    return;
  }
  for (const auto& p : pieces_) {
    switch (p.kind) {
      case op::literal: out.put(p.text); break;
      case op::topic: out.put(topic); break;
      case op::partition: put_int(out, partition); break;
      case op::offset: put_int(out, r.offset); break;
      case op::key: out.put(r.key.view()); break;
      case op::value: out.put(r.value.view()); break;
      case op::timestamp: put_int(out, r.timestamp); break;
      case op::key_len: put_int(out, r.key.size); break;
      case op::value_len: put_int(out, r.value.size); break;
      case op::headers: {
        record_header h;
        for (int32_t i = 0; record_header_at(r, i, &h); i++) {
          if (i > 0) out.put(',');
          out.put(h.key);
          out.put('=');
          out.put(h.value.view());
        }
        break;
      }
    }
  }
}

}  // namespace kappa
