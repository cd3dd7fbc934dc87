// kappa compare: do two topics (a job's serving output and its reprocessed
// version) hold the same values per key? Checked before a cutover (SPEC 6),
// in memory that grows with the number of keys, not with the values.
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string_view>
#include <unordered_map>

#include "cli/cli_common.h"
#include "cli/session_run.h"
#include "kappa/catalog.h"
#include "util/json_string.h"

namespace kappa::cli {
namespace {

struct compare_opts {
  std::string a, b, key;
  int64_t sample = 0, max_diffs = 10;
  bool json = false;
  CLI::Option *sample_opt = nullptr, *key_opt = nullptr;
};

// One topic being compared, and where reading it stops: the log end of each
// partition as of the first pass, so later passes see the same records.
struct side {
  std::string given;  // the name on the command line (maybe an alias)
  topic_meta t;
  std::vector<int64_t> stop_at;
  const std::string& name() const { return t.name; }
  bool via_alias() const { return t.name != given; }
};

// A key's value sequence in one topic: a chain of 128-bit digests, each link
// over the previous digest and the digest of one value.
struct key_state {
  XXH128_hash_t d[2]{};
  uint64_t n[2]{};
};

// Each value's digest is seeded with its length + 1 (0 for null), so the
// framing of values is part of the digest: ["ab","c"] != ["a","bc"].
XXH128_hash_t value_digest(bytes_view v) {
  if (v.is_null()) return XXH3_128bits_withSeed("", 0, 0);
  return XXH3_128bits_withSeed(v.data, static_cast<size_t>(v.size), static_cast<uint64_t>(v.size) + 1);
}
uint64_t value_hash64(bytes_view v) {
  if (v.is_null()) return XXH3_64bits_withSeed("", 0, 0);
  return XXH3_64bits_withSeed(v.data, static_cast<size_t>(v.size), static_cast<uint64_t>(v.size) + 1);
}
void chain(XXH128_hash_t& d, bytes_view v) {
  XXH128_hash_t h = value_digest(v);
  const uint64_t link[4] = {d.low64, d.high64, h.low64, h.high64};
  d = XXH3_128bits(link, sizeof link);
}

// Transparent, so the hot loop looks keys up by string_view without a copy.
struct key_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return XXH3_64bits(s.data(), s.size()); }
};
using key_map = std::unordered_map<std::string, key_state, key_hash, std::equal_to<>>;

// The sampling hash: the null key gets its own seed, apart from "".
uint64_t sample_hash(const std::string* key) {
  return key ? XXH3_64bits(key->data(), key->size()) : XXH3_64bits_withSeed("", 0, 1);
}

// Calls fn(key, value) for every record of s up to s.stop_at, partitions in
// ascending order and offsets ascending within each: the order a key's
// values are compared in. The first scan of a side fixes s.stop_at.
template <class Fn>
Status scan(data_dir& dd, side& s, Fn&& fn) {
  const bool first = s.stop_at.empty();
  constexpr size_t kMany = 512;
  std::vector<record_view> recs(kMany);
  for (int32_t p = 0; p < s.t.partitions; p++) {
    KAPPA_ASSIGN_OR_RETURN(auto r, dd.open_reader(s.t, p));
    if (first) {
      KAPPA_ASSIGN_OR_RETURN(int64_t end, r->log_end_offset());
      s.stop_at.push_back(end);
    }
    const int64_t stop = s.stop_at[static_cast<size_t>(p)];
    KAPPA_RETURN_IF_ERROR(r->seek(r->log_start_offset()));
    while (r->position() < stop) {
      size_t n = 0;
      KAPPA_ASSIGN_OR_RETURN(auto st, r->next_many(recs.data(), kMany, &n));
      if (int64_t from, to; r->take_removed_gap(&from, &to))
        note(partition_name(s.name(), p) + ": offsets " + std::to_string(from) + ".." + std::to_string(to - 1) +
             " were removed by retention while being compared; the comparison is missing them");
      if (st == partition_reader::status::end) break;
      if (st == partition_reader::status::corrupt) {
        const auto& c = r->corruption();
        return Status::Corruption("cannot read offset " + std::to_string(c.offset) + " of " +
                                  partition_name(s.name(), p) + ", segment " + c.segment + ", position " +
                                  std::to_string(c.position) + ": " + c.why + "; run `kappa verify " + s.name() +
                                  "` for details");
      }
      size_t i = 0;
      for (; i < n && recs[i].offset < stop; i++) fn(recs[i].key, recs[i].value);
      if (i < n) break;
    }
  }
  return Status::OK();
}

void append_key(std::string& out, const std::string* key) {
  if (key)
    append_json_string(out, *key);
  else
    out += "(null key)";
}

// A value as one line: control bytes escaped; a long value shown as a
// window of kShow bytes around `diff_at` (where it first differs).
constexpr size_t kShow = 1024;
void append_value(std::string& out, std::string_view v, size_t diff_at) {
  size_t from = 0, to = v.size();
  if (v.size() > kShow) {
    from = std::min(diff_at > kShow / 8 ? diff_at - kShow / 8 : 0, v.size() - kShow);
    to = from + kShow;
    out += "[" + std::to_string(v.size()) + " bytes" + (from ? ", from byte " + std::to_string(from) : "") + "] ";
  }
  static const char* hex = "0123456789abcdef";
  for (size_t i = from; i < to; i++) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (to < v.size()) out += "...";
}

// One side's value at the first difference, for printing.
struct shown_value {
  bool present = false, null = false;
  std::string bytes;
  void set(bytes_view v) {
    present = true;
    null = v.is_null();
    bytes.assign(v.view());
  }
};
void append_value_line(std::string& out, const std::string& topic, const shown_value& v, const shown_value& other) {
  out += "  " + topic + ": ";
  if (!v.present) {
    out += "(none)";
  } else if (v.null) {
    out += "(null)";
  } else {
    size_t at = 0;
    if (other.present && !other.null)
      at = static_cast<size_t>(
          std::mismatch(v.bytes.begin(),
                        v.bytes.begin() + static_cast<ptrdiff_t>(std::min(v.bytes.size(), other.bytes.size())),
                        other.bytes.begin())
              .first -
          v.bytes.begin());
    append_value(out, v.bytes, at);
  }
  out += '\n';
}

struct counts {
  uint64_t keys = 0, keys_total = 0, agree = 0, only_a = 0, only_b = 0, different = 0, records_a = 0, records_b = 0;
  bool sampled = false;
  uint64_t differ() const { return only_a + only_b + different; }
};

enum class kind { agree, only_a, only_b, different };
kind classify(const key_state& s) {
  if (s.n[0] == s.n[1] && s.d[0].low64 == s.d[1].low64 && s.d[0].high64 == s.d[1].high64) return kind::agree;
  if (s.n[1] == 0) return kind::only_a;
  if (s.n[0] == 0) return kind::only_b;
  return kind::different;
}

// A compared key: key == nullptr is the null key.
struct key_ref {
  const std::string* key;
  const key_state* st;
};
bool key_less(const key_ref& x, const key_ref& y) {
  if (!x.key || !y.key) return !x.key && y.key;
  return *x.key < *y.key;
}

// What the first differences of the shown keys are (passes 2 and 3).
struct detail {
  std::vector<uint64_t> hashes_a;  // per record of side a
  uint64_t seen = 0;
  int64_t first = -1;  // 0-based index of the first differing record; -2: none found
  shown_value v[2];
};

std::string names(const side& a, const side& b) {
  std::string s = a.name();
  if (a.via_alias()) s += " (via alias " + a.given + ")";
  s += " " + b.name();
  if (b.via_alias()) s += " (via alias " + b.given + ")";
  return s;
}

std::string summary_text(const side& a, const side& b, const counts& c) {
  std::string s = "compare " + names(a, b) + ": ";
  if (c.sampled)
    s += std::to_string(c.keys) + " of " + plural(c.keys_total, "key", "keys") + " sampled: ";
  else
    s += plural(c.keys, "key", "keys") + " compared: ";
  s += std::to_string(c.agree) + " agree, " + std::to_string(c.differ()) + " differ";
  if (c.differ())
    s += " (" + std::to_string(c.only_a) + " only in " + a.name() + ", " + std::to_string(c.only_b) + " only in " +
         b.name() + ", " + std::to_string(c.different) + " with different records)";
  s += "; records: " + std::to_string(c.records_a) + " vs " + std::to_string(c.records_b) + "\n";
  return s;
}

const char* kind_name(kind k) {
  return k == kind::only_a      ? "only_in_a"
         : k == kind::only_b    ? "only_in_b"
         : k == kind::different ? "different"
                                : "agree";
}

std::string summary_json(const side& a, const side& b, const counts& c, const std::vector<key_ref>& shown,
                         uint64_t more) {
  std::string s = "{\"a\":";
  append_json_string(s, a.name());
  s += ",\"b\":";
  append_json_string(s, b.name());
  auto alias = [&](const side& x) {
    if (x.via_alias())
      append_json_string(s, x.given);
    else
      s += "null";
  };
  s += ",\"alias_a\":";
  alias(a);
  s += ",\"alias_b\":";
  alias(b);
  s += ",\"sampled\":" + std::string(c.sampled ? "true" : "false") + ",\"keys\":" + std::to_string(c.keys) +
       ",\"keys_total\":" + std::to_string(c.keys_total) + ",\"agree\":" + std::to_string(c.agree) +
       ",\"differ\":" + std::to_string(c.differ()) + ",\"only_in_a\":" + std::to_string(c.only_a) +
       ",\"only_in_b\":" + std::to_string(c.only_b) + ",\"different\":" + std::to_string(c.different) +
       ",\"records_a\":" + std::to_string(c.records_a) + ",\"records_b\":" + std::to_string(c.records_b) +
       ",\"diffs\":[";
  for (size_t i = 0; i < shown.size(); i++) {
    s += i ? ",{\"key\":" : "{\"key\":";
    if (shown[i].key)
      append_json_string(s, *shown[i].key);
    else
      s += "null";
    s += std::string(",\"kind\":\"") + kind_name(classify(*shown[i].st)) +
         "\",\"records_a\":" + std::to_string(shown[i].st->n[0]) +
         ",\"records_b\":" + std::to_string(shown[i].st->n[1]) + "}";
  }
  s += "],\"more_diffs\":" + std::to_string(more) + "}\n";
  return s;
}

// The block of one differing key (d: its first difference, for kind::different).
std::string diff_block(const side& a, const side& b, const key_ref& r, const detail* d) {
  std::string s = "key ";
  append_key(s, r.key);
  const key_state& st = *r.st;
  switch (classify(st)) {
    case kind::agree: s += ": " + plural(st.n[0], "record", "records") + ", the same in both\n"; break;
    case kind::only_a: s += ": only in " + a.name() + " (" + plural(st.n[0], "record", "records") + ")\n"; break;
    case kind::only_b: s += ": only in " + b.name() + " (" + plural(st.n[1], "record", "records") + ")\n"; break;
    case kind::different:
      s += ": " + plural(st.n[0], "record", "records") + " in " + a.name() + ", " + std::to_string(st.n[1]) + " in " +
           b.name();
      if (!d) {
        s += "\n";
      } else if (d->first < 0) {
        s += "; could not find where they differ (did a topic change while being compared?)\n";
      } else {
        s += "; first difference at record " + std::to_string(d->first + 1) + ":\n";
        append_value_line(s, a.name(), d->v[0], d->v[1]);
        append_value_line(s, b.name(), d->v[1], d->v[0]);
      }
      break;
  }
  return s;
}

bool write_out(const std::string& s) { return std::fwrite(s.data(), 1, s.size(), stdout) == s.size(); }

int finish(int code) {
  bool bad = std::fflush(stdout) != 0 || std::ferror(stdout);
  if (bad && errno != EPIPE) return fail(Status::FromErrno("writing stdout", errno));
  return code;
}

// --key K: one key, every value of it from both sides, streamed.
int compare_key(data_dir& dd, side (&s)[2], const compare_opts& o) {
  key_state st;
  std::vector<uint64_t> hashes_a;
  int64_t first = -1;
  std::string line;
  for (int i = 0; i < 2; i++) {
    Status rs = scan(dd, s[i], [&](bytes_view k, bytes_view v) {
      if (k.is_null() || k.view() != o.key) return;
      uint64_t j = st.n[i]++;
      chain(st.d[i], v);
      uint64_t h = value_hash64(v);
      if (i == 0)
        hashes_a.push_back(h);
      else if (first < 0 && (j >= hashes_a.size() || hashes_a[j] != h))
        first = static_cast<int64_t>(j);
      if (o.json) return;
      line = s[i].name() + ": ";
      if (v.is_null())
        line += "(null)";
      else
        append_value(line, v.view(), 0);
      line += '\n';
      write_out(line);
    });
    if (!rs.ok()) {
      std::fflush(stdout);
      return fail(rs);
    }
  }
  if (st.n[0] == 0 && st.n[1] == 0) {
    std::string k;
    append_json_string(k, o.key);
    return finish(fail(Status::NotFound("key " + k + " is in neither " + s[0].name() + " nor " + s[1].name() +
                                        " (nothing to compare)")));
  }
  if (first < 0 && st.n[1] < st.n[0]) first = static_cast<int64_t>(st.n[1]);
  counts c;
  c.keys = c.keys_total = 1;
  c.records_a = st.n[0];
  c.records_b = st.n[1];
  kind kd = classify(st);
  c.agree = kd == kind::agree;
  c.only_a = kd == kind::only_a;
  c.only_b = kd == kind::only_b;
  c.different = kd == kind::different;
  key_ref ref{&o.key, &st};
  if (o.json) {
    std::vector<key_ref> shown;
    if (kd != kind::agree) shown.push_back(ref);
    write_out(summary_json(s[0], s[1], c, shown, 0));
  } else {
    std::string block = diff_block(s[0], s[1], ref, nullptr);
    if (kd == kind::different) {
      block.pop_back();
      block += first >= 0 ? "; first difference at record " + std::to_string(first + 1) + "\n"
                          : "; could not find where they differ (did a topic change while being compared?)\n";
    }
    write_out(block + summary_text(s[0], s[1], c));
  }
  return finish(kd == kind::agree ? kExitOk : kExitRuntime);
}

int compare(compare_opts& o, context& ctx) {
  const bool sampling = o.sample_opt->count() > 0, one_key = o.key_opt->count() > 0;
  if (sampling && one_key) return usage_error("--sample and --key exclude each other");
  if (sampling && o.sample < 1) return usage_error("--sample must be at least 1 (a number of keys)");
  if (o.max_diffs < 0) return usage_error("--max-diffs must be 0 (all) or more");
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  side s[2];
  s[0].given = o.a;
  s[1].given = o.b;
  for (auto& x : s) {
    auto t = dd->resolve_topic(x.given);
    if (!t.ok()) return fail(t.status());
    x.t = std::move(t.value());
  }
  if (one_key) return compare_key(*dd, s, o);

  // Pass 1: every key's digests and record counts, both sides.
  key_map m;
  key_state null_key;
  bool null_seen = false;
  for (int i = 0; i < 2; i++) {
    Status rs = scan(*dd, s[i], [&](bytes_view k, bytes_view v) {
      key_state* st;
      if (k.is_null()) {
        st = &null_key;
        null_seen = true;
      } else {
        auto it = m.find(k.view());
        if (it == m.end()) it = m.emplace(std::string(k.view()), key_state{}).first;
        st = &it->second;
      }
      chain(st->d[i], v);
      st->n[i]++;
    });
    if (!rs.ok()) return fail(rs);
  }

  std::vector<key_ref> keys;
  keys.reserve(m.size() + null_seen);
  if (null_seen) keys.push_back({nullptr, &null_key});
  for (const auto& [k, st] : m) keys.push_back({&k, &st});
  counts c;
  c.keys_total = keys.size();
  if (sampling && static_cast<uint64_t>(o.sample) < keys.size()) {
    // Bottom-k: the same keys on every run and for both sides.
    std::vector<std::pair<uint64_t, key_ref>> h;
    h.reserve(keys.size());
    for (const auto& r : keys) h.push_back({sample_hash(r.key), r});
    auto n = static_cast<ptrdiff_t>(o.sample);
    std::nth_element(h.begin(), h.begin() + n - 1, h.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first < y.first : key_less(x.second, y.second);
    });
    keys.clear();
    for (ptrdiff_t i = 0; i < n; i++) keys.push_back(h[static_cast<size_t>(i)].second);
  }
  c.sampled = sampling;
  c.keys = keys.size();
  std::vector<key_ref> differing;
  for (const auto& r : keys) {
    c.records_a += r.st->n[0];
    c.records_b += r.st->n[1];
    switch (classify(*r.st)) {
      case kind::agree: c.agree++; continue;
      case kind::only_a: c.only_a++; break;
      case kind::only_b: c.only_b++; break;
      case kind::different: c.different++; break;
    }
    differing.push_back(r);
  }
  size_t show = o.max_diffs == 0 ? differing.size() : std::min(differing.size(), static_cast<size_t>(o.max_diffs));
  std::partial_sort(differing.begin(), differing.begin() + static_cast<ptrdiff_t>(show), differing.end(), key_less);
  differing.resize(show);
  const uint64_t more = c.differ() - show;
  if (o.json) {
    write_out(summary_json(s[0], s[1], c, differing, more));
    return finish(c.differ() ? kExitRuntime : kExitOk);
  }

  // Passes 2 and 3, for the shown keys whose records differ: side a's value
  // hashes, then side b up to its first mismatch, then a's value there.
  std::vector<detail> details(show);
  std::unordered_map<std::string_view, detail*, key_hash, std::equal_to<>> want;
  detail* want_null = nullptr;
  for (size_t i = 0; i < show; i++)
    if (classify(*differing[i].st) == kind::different) {
      if (differing[i].key)
        want.emplace(*differing[i].key, &details[i]);
      else
        want_null = &details[i];
    }
  auto lookup = [&](bytes_view k) -> detail* {
    if (k.is_null()) return want_null;
    auto it = want.find(k.view());
    return it == want.end() ? nullptr : it->second;
  };
  if (!want.empty() || want_null) {
    Status rs = scan(*dd, s[0], [&](bytes_view k, bytes_view v) {
      if (detail* d = lookup(k)) d->hashes_a.push_back(value_hash64(v));
    });
    if (rs.ok())
      rs = scan(*dd, s[1], [&](bytes_view k, bytes_view v) {
        detail* d = lookup(k);
        if (!d) return;
        uint64_t j = d->seen++;
        if (d->first >= 0) return;
        if (j >= d->hashes_a.size() || d->hashes_a[j] != value_hash64(v)) {
          d->first = static_cast<int64_t>(j);
          d->v[1].set(v);
        }
      });
    bool need_a = false;
    for (auto& d : details) {
      if (d.first < 0 && d.seen < d.hashes_a.size()) d.first = static_cast<int64_t>(d.seen);
      if (d.first >= 0 && static_cast<uint64_t>(d.first) < d.hashes_a.size()) need_a = true;
      d.seen = 0;
      d.hashes_a = {};
    }
    if (rs.ok() && need_a)
      rs = scan(*dd, s[0], [&](bytes_view k, bytes_view v) {
        detail* d = lookup(k);
        if (d && d->first >= 0 && d->seen++ == static_cast<uint64_t>(d->first)) d->v[0].set(v);
      });
    if (!rs.ok()) return fail(rs);
  }

  for (size_t i = 0; i < show; i++)
    if (!write_out(diff_block(s[0], s[1], differing[i], &details[i]))) break;
  std::string tail;
  if (more) tail = "... and " + std::to_string(more) + (more == 1 ? " more key differs\n" : " more keys differ\n");
  write_out(tail + summary_text(s[0], s[1], c));
  return finish(c.differ() ? kExitRuntime : kExitOk);
}

}  // namespace

void add_compare(CLI::App& app, context& ctx) {
  static compare_opts o;
  auto* cmd = app.add_subcommand(
      "compare",
      "compare two topics key by key, e.g. a job's output versions before a cutover: the values of each key in "
      "offset order must be byte-identical (offsets, timestamps and headers are not compared); exit 0 when they "
      "agree, 1 when they differ");
  cmd->add_option("topic_a", o.a, "first topic (or alias), e.g. the version that serves now")->required();
  cmd->add_option("topic_b", o.b, "second topic (or alias), e.g. the reprocessed version")->required();
  o.sample_opt = cmd->add_option("--sample", o.sample,
                                 "compare only N keys of both topics' keys: those with the smallest XXH3-64 hash of "
                                 "the key, so every run picks the same keys")
                     ->default_str("");
  o.key_opt = cmd->add_option("--key", o.key, "compare only this key, printing its values from both topics");
  cmd->add_option("--max-diffs", o.max_diffs, "differing keys to show (in key order), 0 = all");
  cmd->add_flag("--json", o.json,
                "print one JSON object (the counts, and the shown differing keys with their record counts) "
                "instead of the text output");
  cmd->callback([&] { ctx.run = [&] { return compare(o, ctx); }; });
}

}  // namespace kappa::cli
