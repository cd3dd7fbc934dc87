// Compaction: the key map, the cleaner on real partitions, and recovery from
// a crash at each step of the compaction swap (kappa/log/format.h).
#include <doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/file.h"
#include "io/io_backend.h"
#include "kappa/log.h"
#include "kappa/log/format.h"
#include "kappa/retention.h"
#include "log/offset_index.h"
#include "log/partition_lock.h"
#include "log/record_batch.h"
#include "log/recovery.h"
#include "log/segment.h"
#include "log/segment_name.h"
#include "log/time_index.h"
#include "retention/cleaner.h"
#include "retention/key_map.h"

using namespace kappa;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- helpers

using opt_str = std::optional<std::string>;

bytes_view bv(const opt_str& s) { return s ? bytes_view::of(*s) : bytes_view::null(); }
opt_str from_bv(bytes_view b) { return b.is_null() ? opt_str() : opt_str(std::string(b.view())); }

struct in_rec {
  int64_t ts;
  opt_str key, value;
};

struct rec {
  int64_t offset;
  int64_t ts;
  opt_str key, value;
  bool operator==(const rec&) const = default;
};

std::string show(const opt_str& s) { return s ? '"' + *s + '"' : std::string("null"); }
std::string show(const rec& r) {
  return "{offset " + std::to_string(r.offset) + ", ts " + std::to_string(r.ts) + ", key " + show(r.key) +
         ", value " + show(r.value) + "}";
}

// "" when equal, else where the two record lists first differ.
std::string diff(const std::vector<rec>& got, const std::vector<rec>& want) {
  for (size_t i = 0; i < std::min(got.size(), want.size()); i++)
    if (!(got[i] == want[i]))
      return "record #" + std::to_string(i) + ": got " + show(got[i]) + ", want " + show(want[i]);
  if (got.size() != want.size())
    return "got " + std::to_string(got.size()) + " records, want " + std::to_string(want.size()) +
           (got.size() > want.size() ? "; first extra: " + show(got[want.size()])
                                     : "; first missing: " + show(want[got.size()]));
  return "";
}

std::vector<rec> offsets_from(const std::vector<rec>& all, int64_t from, int64_t to = INT64_MAX) {
  std::vector<rec> out;
  for (const auto& r : all)
    if (r.offset >= from && r.offset < to) out.push_back(r);
  return out;
}

// What compaction must leave: below sealed_end (the active segment's base)
// the latest record of each non-null key, tombstones only while younger
// than delete.retention.ms; from sealed_end on, everything.
std::vector<rec> compacted(const std::vector<rec>& all, int64_t sealed_end, int64_t now, int64_t delete_retention_ms) {
  std::map<std::string, int64_t> latest;
  for (const auto& r : all)
    if (r.offset < sealed_end && r.key) latest[*r.key] = r.offset;
  std::vector<rec> out;
  for (const auto& r : all) {
    if (r.offset < sealed_end) {
      if (!r.key || latest[*r.key] != r.offset) continue;
      if (!r.value && now - r.ts >= delete_retention_ms) continue;
    }
    out.push_back(r);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::string s;
  INFO("reading " << path);
  REQUIRE(read_small_file(path, &s, 64u << 20).ok());
  return s;
}
void write_file(const std::string& path, const std::string& bytes) { REQUIRE(rewrite_file(path, bytes, false).ok()); }

std::string seg(const std::string& dir, int64_t base, const char* suffix) { return segment_path(dir, base, suffix); }
std::string cleaned(const std::string& dir, int64_t base, const char* suffix) {
  return segment_path(dir, base, suffix) + format::kCleanedSuffix;
}

// On tmpfs when there is one: these tests fsync a lot, and what they check
// does not depend on the device.
struct temp_root {
  std::string path;
  temp_root() {
    std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string tmpl = base + "/kappa-retention-XXXXXX";
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_root() { fs::remove_all(path); }
};

// Appends `phases` with one appender, a batch per `per_batch` records and
// at each phase's end; returns the records with their offsets.
std::vector<rec> append_phases(const std::string& dir, const partition_options& o,
                               const std::vector<std::vector<in_rec>>& phases, int per_batch) {
  auto w = partition_appender::open(dir, "test partition", o);
  REQUIRE(w.ok());
  REQUIRE(w.value()->open_now().ok());
  std::vector<rec> out;
  int64_t off = w.value()->next_offset();
  for (const auto& phase : phases) {
    int n = 0;
    for (const auto& r : phase) {
      REQUIRE(w.value()->append(r.ts, bv(r.key), bv(r.value)).ok());
      out.push_back({off++, r.ts, r.key, r.value});
      if (++n % per_batch == 0) REQUIRE(w.value()->flush().ok());
    }
    REQUIRE(w.value()->flush().ok());
  }
  REQUIRE(w.value()->sync().ok());
  CHECK(w.value()->next_offset() == off);
  return out;
}

std::vector<rec> read_all(const std::string& dir, const partition_options& o) {
  auto r = partition_reader::open(dir, "test partition", o);
  REQUIRE(r.ok());
  std::vector<rec> out;
  record_view v;
  for (;;) {
    auto st = r.value()->next(&v);
    REQUIRE(st.ok());
    REQUIRE(st.value() != partition_reader::status::corrupt);
    if (st.value() == partition_reader::status::end) break;
    out.push_back({v.offset, v.timestamp, from_bv(v.key), from_bv(v.value)});
  }
  return out;
}

// One segment's batches as a scan finds them.
struct seg_scan {
  int64_t base = 0;
  uint64_t size = 0;
  std::map<uint64_t, batch_header> batches;  // by position
  int64_t first() const { return batches.empty() ? -1 : batches.begin()->second.base_offset; }
  int64_t last() const { return batches.empty() ? -1 : batches.rbegin()->second.last_offset(); }
};

std::vector<seg_scan> scan_all(const std::string& dir) {
  auto io = make_posix_backend();
  auto bases = list_segments(dir);
  REQUIRE(bases.ok());
  std::vector<seg_scan> out;
  for (int64_t base : bases.value()) {
    seg_scan s;
    s.base = base;
    s.size = fs::file_size(seg(dir, base, format::kLogSuffix));
    auto fd = open_file(seg(dir, base, format::kLogSuffix), O_RDONLY);
    REQUIRE(fd.ok());
    auto stop = scan_segment(*io, fd.value().get(), 0, readable_batch_limit(1048588),
                             [&](const batch_header& h, const char* b, uint64_t pos) {
                               s.batches[pos] = h;
                               // The header agrees with the records (a
                               // rewritten batch must be re-described).
                               record_iterator it(h, b);
                               record_view r;
                               int32_t n = 0;
                               int64_t last = -1, max_ts = -1;
                               while (it.next(&r) == 1) {
                                 n++;
                                 last = r.offset;
                                 max_ts = std::max(max_ts, r.timestamp);
                               }
                               CHECK(n == h.record_count);
                               CHECK(last == h.last_offset());
                               CHECK(max_ts == h.max_timestamp);
                               return true;
                             });
    REQUIRE(stop.ok());
    CHECK(stop.value().state == batch_state::ok);
    CHECK(stop.value().position == s.size);
    out.push_back(std::move(s));
  }
  return out;
}

// The partition directory is what recovery promises: no .cleaned file, no
// index without its .log, every .log with both indexes, offset ranges that
// do not overlap, and index entries that point at real batch starts.
void check_consistent(const std::string& dir) {
  auto names = list_dir(dir);
  REQUIRE(names.ok());
  auto bases = list_segments(dir).value();
  std::set<int64_t> base_set(bases.begin(), bases.end());
  for (const auto& n : names.value()) {
    INFO("file " << n);
    CHECK_FALSE(n.ends_with(format::kCleanedSuffix));
    auto b = parse_segment_name(n, format::kIndexSuffix);
    if (!b) b = parse_segment_name(n, format::kTimeIndexSuffix);
    if (b) CHECK(base_set.count(*b) == 1);
  }
  auto scans = scan_all(dir);
  for (size_t i = 0; i < scans.size(); i++) {
    const auto& s = scans[i];
    INFO("segment " << s.base);
    REQUIRE(fs::exists(seg(dir, s.base, format::kIndexSuffix)));
    REQUIRE(fs::exists(seg(dir, s.base, format::kTimeIndexSuffix)));
    int64_t next_base = i + 1 < scans.size() ? scans[i + 1].base : INT64_MAX;
    if (!s.batches.empty()) {
      CHECK(s.first() >= s.base);
      CHECK(s.last() < next_base);
    }
    int64_t prev = -1;
    for (const auto& [pos, h] : s.batches) {
      CHECK(h.base_offset > prev);
      prev = h.last_offset();
    }
    bool ok_i = false, ok_t = false;
    auto idx = offset_index::decode(s.base, read_file(seg(dir, s.base, format::kIndexSuffix)), s.size, &ok_i);
    CHECK(ok_i);
    for (const auto& e : idx.entries()) {
      auto it = s.batches.find(e.position);
      REQUIRE(it != s.batches.end());
      CHECK(it->second.last_offset() == e.offset);
    }
    auto times = time_index::decode(s.base, read_file(seg(dir, s.base, format::kTimeIndexSuffix)), next_base, &ok_t);
    CHECK(ok_t);
    for (const auto& e : times.entries()) CHECK((e.offset >= s.base && e.offset <= s.last()));
  }
}

// cleaner-offset-checkpoint: "<first dirty offset> <tombstone expiry>".
std::pair<int64_t, int64_t> read_checkpoint(const std::string& dir) {
  std::string s = read_file(dir + "/" + format::kCleanerCheckpointFile);
  long long a = -2, b = -2;
  REQUIRE(std::sscanf(s.c_str(), "%lld %lld", &a, &b) == 2);
  return {a, b};
}

// Runs compaction as maintain_partition does: cleaner lock, recover_sealed.
clean_result compact(const std::string& dir, const partition_options& o, int64_t now,
                     size_t key_map_bytes = kDefaultKeyMapBytes) {
  auto lock = partition_lock::acquire_cleaner(dir);
  REQUIRE(lock.ok());
  auto io = make_posix_backend();
  recovery_report rep;
  REQUIRE(recover_sealed(*io, dir, "test partition", readable_batch_limit(o.max_message_bytes), &rep).ok());
  auto r = compact_partition(*io, dir, "test partition", o, now, key_map_bytes);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return r.value();
}

std::map<std::string, std::string> log_files(const std::string& dir) {
  std::map<std::string, std::string> out;
  auto bases = list_segments(dir);
  REQUIRE(bases.ok());
  for (int64_t b : bases.value()) out[seg(dir, b, format::kLogSuffix)] = read_file(seg(dir, b, format::kLogSuffix));
  return out;
}

}  // namespace

// ---------------------------------------------------------------- key_map

TEST_CASE("key_map: the latest offset of a key wins, unknown keys are -1") {
  key_map m(1 << 20);
  CHECK(m.size() == 0);
  CHECK(m.get(bytes_view::of("a")) == -1);
  REQUIRE(m.put(bytes_view::of("a"), 5));
  CHECK(m.get(bytes_view::of("a")) == 5);
  REQUIRE(m.put(bytes_view::of("b"), 6));
  REQUIRE(m.put(bytes_view::of("a"), 9));
  CHECK(m.get(bytes_view::of("a")) == 9);
  CHECK(m.get(bytes_view::of("b")) == 6);
  CHECK(m.size() == 2);
  CHECK(m.get(bytes_view::of("c")) == -1);
  CHECK(m.get(bytes_view::of("A")) == -1);
  CHECK(m.get(bytes_view::of("a ")) == -1);

  // The empty key is a key like any other (only a null key means keyless,
  // and the cleaner never puts those).
  CHECK(m.get(bytes_view::of("")) == -1);
  REQUIRE(m.put(bytes_view::of(""), 11));
  CHECK(m.get(bytes_view::of("")) == 11);
  CHECK(m.get(bytes_view::of("a")) == 9);
  CHECK(m.size() == 3);

  // Every byte of the key counts, NULs included.
  std::string k1("x\0y", 3), k2("x\0z", 3), k3("x", 1);
  REQUIRE(m.put(bytes_view::of(k1), 20));
  REQUIRE(m.put(bytes_view::of(k2), 21));
  CHECK(m.get(bytes_view::of(k1)) == 20);
  CHECK(m.get(bytes_view::of(k2)) == 21);
  CHECK(m.get(bytes_view::of(k3)) == -1);
  CHECK(m.size() == 5);
}

TEST_CASE("key_map: growing past the initial 4096 slots keeps every entry") {
  const size_t max_bytes = 8u << 20;
  key_map m(max_bytes);
  const size_t initial = m.memory_bytes();
  CHECK(initial == 4096 * 24);
  const int n = 20000;
  for (int i = 0; i < n; i++) {
    REQUIRE(m.put(bytes_view::of("key-" + std::to_string(i)), i));
    CHECK(m.memory_bytes() <= max_bytes);
  }
  CHECK(m.size() == static_cast<size_t>(n));
  CHECK(m.memory_bytes() > initial);
  CHECK(m.memory_bytes() >= static_cast<size_t>(n) * 24);
  // Overwrite every other key; all entries must be found with the right offset.
  for (int i = 0; i < n; i += 2) REQUIRE(m.put(bytes_view::of("key-" + std::to_string(i)), n + i));
  CHECK(m.size() == static_cast<size_t>(n));
  int wrong = 0;
  for (int i = 0; i < n; i++)
    if (m.get(bytes_view::of("key-" + std::to_string(i))) != (i % 2 == 0 ? n + i : i)) wrong++;
  CHECK(wrong == 0);
  CHECK(m.get(bytes_view::of("key-" + std::to_string(n))) == -1);
}

TEST_CASE("key_map: at its byte limit new keys are refused, known keys still update") {
  const size_t max_bytes = 4 * 4096 * 24;  // room for 16384 slots
  key_map m(max_bytes);
  int accepted = 0;
  for (int i = 0; i < 100000; i++) {
    bool ok = m.put(bytes_view::of("key-" + std::to_string(i)), i);
    REQUIRE(m.memory_bytes() <= max_bytes);
    if (!ok) break;
    accepted++;
  }
  INFO("accepted " << accepted << " keys in " << m.memory_bytes() << " bytes");
  REQUIRE(accepted < 100000);  // it did fill up
  CHECK(m.size() == static_cast<size_t>(accepted));
  CHECK(m.memory_bytes() <= max_bytes);
  // It used its budget: well past the initial table, filled to at least 3/4.
  // It used its budget: the whole table, packed past the 3/4 load it grows at.
  CHECK(m.memory_bytes() == max_bytes);
  CHECK(static_cast<size_t>(accepted) * 20 > m.memory_bytes() / 24 * 17);
  // The refused key is not there; other new keys are refused too.
  CHECK(m.get(bytes_view::of("key-" + std::to_string(accepted))) == -1);
  CHECK_FALSE(m.put(bytes_view::of("another-new-key"), 1000000));
  CHECK(m.get(bytes_view::of("another-new-key")) == -1);
  // Known keys still update.
  REQUIRE(m.put(bytes_view::of("key-0"), 2000000));
  REQUIRE(m.put(bytes_view::of("key-" + std::to_string(accepted - 1)), 2000001));
  CHECK(m.get(bytes_view::of("key-0")) == 2000000);
  CHECK(m.get(bytes_view::of("key-" + std::to_string(accepted - 1))) == 2000001);
  CHECK(m.size() == static_cast<size_t>(accepted));
  CHECK(m.memory_bytes() <= max_bytes);
  int lost = 0;
  for (int i = 1; i < accepted - 1; i++)
    if (m.get(bytes_view::of("key-" + std::to_string(i))) != i) lost++;
  CHECK(lost == 0);
}

// ---------------------------------------------------------------- compaction

namespace {

constexpr int64_t kNow = 1'000'000'000'000;  // "now" for the cleaner, ms
constexpr int64_t kDeleteRetention = 60'000;

partition_options compact_options() {
  partition_options o;
  o.segment_bytes = 4096;
  o.segment_ms = 1'000'000'000'000'000;  // rolls by size only
  o.cleanup_compact = true;
  o.cleanup_delete = false;
  o.min_cleanable_dirty_ratio = 0;
  o.delete_retention_ms = kDeleteRetention;
  return o;
}

// A mix of every kind of record compaction treats differently.
std::vector<in_rec> mixed_records(int n, int from = 0) {
  std::vector<in_rec> v;
  for (int i = from; i < from + n; i++) {
    int64_t old_ts = 1000 + i;
    std::string val = "value-" + std::to_string(i);
    switch (i % 10) {
      case 0: v.push_back({old_ts, std::nullopt, "keyless-" + std::to_string(i)}); break;
      case 1:  // the empty key (early only: a keyless record comes last)
        v.push_back({old_ts, i < 100 ? std::string() : "unique-" + std::to_string(i), val});
        break;
      case 2:
      case 3:
      case 4: v.push_back({old_ts, "hot-" + std::to_string((i / 10) % 5), val}); break;
      case 5: v.push_back({old_ts, "unique-" + std::to_string(i), val}); break;
      case 6:  // deleted long ago: the values and then the tombstone go
        if (i % 50 == 46) v.push_back({old_ts, "old-del-" + std::to_string(i / 50), std::nullopt});
        else v.push_back({old_ts, "old-del-" + std::to_string(i / 50), val});
        break;
      case 7:  // deleted just now: the values go, the tombstone stays
        if (i % 50 == 47) v.push_back({kNow - 10 - 1000 * (i / 50), "new-del-" + std::to_string(i / 50), std::nullopt});
        else v.push_back({old_ts, "new-del-" + std::to_string(i / 50), val});
        break;
      default: v.push_back({old_ts, "unique-" + std::to_string(i), val}); break;
    }
  }
  return v;
}

}  // namespace

TEST_CASE("compact_partition keeps the latest record per key in the sealed segments only") {
  temp_root root;
  std::string dir = root.path + "/p-0";
  partition_options o = compact_options();
  auto in = mixed_records(1500);
  // The active segment gets a keyless record, an expired tombstone and an
  // older value of a hot key: all must stay.
  auto all = append_phases(dir, o, {in}, 10);
  auto tail = append_phases(dir, o,
                            {{{1, std::nullopt, "keyless-tail"},
                              {2, "hot-0", std::nullopt},
                              {3, "hot-1", "stale-in-active"},
                              {4, "unique-tail", "x"}}},
                            10);
  all.insert(all.end(), tail.begin(), tail.end());

  auto segs = stat_segments(dir).value();
  REQUIRE(segs.size() >= 6);
  const int64_t active = segs.back().base_offset;
  REQUIRE(active < tail.front().offset);  // the tail is in the active segment, with older records
  const std::string active_log = seg(dir, active, format::kLogSuffix);
  const std::string active_bytes = read_file(active_log);
  const std::string active_index = read_file(seg(dir, active, format::kIndexSuffix));

  auto want = compacted(all, active, kNow, kDeleteRetention);
  // The data exercise every rule (else the checks below prove little).
  int sealed_keyless = 0, old_tombstones = 0, new_tombstones_kept = 0, empty_key_sealed = 0;
  std::vector<int64_t> kept_tombstone_ts;
  for (const auto& r : all)
    if (r.offset < active) {
      sealed_keyless += !r.key;
      old_tombstones += r.key && !r.value && r.ts < kNow - kDeleteRetention;
    }
  for (const auto& r : want)
    if (r.offset < active) {
      new_tombstones_kept += !r.value;
      if (!r.value) kept_tombstone_ts.push_back(r.ts);
      empty_key_sealed += r.key && r.key->empty();
      CHECK(r.key.has_value());
    }
  REQUIRE(sealed_keyless > 20);
  REQUIRE(old_tombstones >= 5);
  REQUIRE(new_tombstones_kept >= 5);
  CHECK(empty_key_sealed == 1);
  std::sort(kept_tombstone_ts.begin(), kept_tombstone_ts.end());
  REQUIRE(kept_tombstone_ts[0] < kept_tombstone_ts[1]);

  auto r1 = compact(dir, o, kNow);
  CHECK(r1.segments_cleaned > 0);
  CHECK(r1.records_removed == static_cast<int64_t>(all.size() - want.size()));
  CHECK(r1.bytes_freed > 0);
  check_consistent(dir);

  auto got = read_all(dir, o);
  CHECK(diff(got, want) == "");
  // Spot checks, independent of the model.
  std::map<std::string, int> per_key;
  for (const auto& r : got)
    if (r.offset < active) {
      REQUIRE(r.key.has_value());
      CHECK(++per_key[*r.key] == 1);  // one record per key
      CHECK((r.value || kNow - r.ts < kDeleteRetention));  // only recent tombstones
    }
  CHECK(per_key.count("old-del-0") == 0);
  CHECK(per_key.count("new-del-0") == 1);
  CHECK(per_key.count("") == 1);
  // Offsets kept, with gaps.
  for (size_t i = 1; i < got.size(); i++) CHECK(got[i].offset > got[i - 1].offset);
  CHECK(got.back().offset == all.back().offset);

  // The active segment is untouched, byte for byte.
  CHECK(read_file(active_log) == active_bytes);
  CHECK(read_file(seg(dir, active, format::kIndexSuffix)) == active_index);
  CHECK(list_segments(dir).value().back() == active);

  // The checkpoint: everything below the active segment is clean; the
  // oldest kept tombstone is due delete.retention.ms after its timestamp.
  auto cp = read_checkpoint(dir);
  CHECK(cp.first == active);
  CHECK(cp.second == kept_tombstone_ts[0] + kDeleteRetention);

  SUBCASE("a second pass with no new data does nothing") {
    auto before = log_files(dir);
    auto r2 = compact(dir, o, kNow);
    CHECK(r2.segments_cleaned == 0);
    CHECK(r2.records_removed == 0);
    CHECK(log_files(dir) == before);
    CHECK(diff(read_all(dir, o), want) == "");
  }

  SUBCASE("once a kept tombstone is due, a pass removes it") {
    const int64_t due = kept_tombstone_ts[0] + kDeleteRetention;
    auto r2 = compact(dir, o, due - 1);  // not due yet: nothing to do
    CHECK(r2.segments_cleaned == 0);
    CHECK(r2.records_removed == 0);
    auto r3 = compact(dir, o, due);  // the oldest one only
    CHECK(r3.segments_cleaned > 0);
    CHECK(r3.records_removed == 1);
    auto want3 = compacted(all, active, due, kDeleteRetention);
    CHECK(want3.size() == want.size() - 1);
    CHECK(diff(read_all(dir, o), want3) == "");
    CHECK(read_checkpoint(dir).second == kept_tombstone_ts[1] + kDeleteRetention);
    // Much later, all of them.
    const int64_t much_later = kNow + 10 * kDeleteRetention;
    auto r4 = compact(dir, o, much_later);
    CHECK(r4.records_removed == new_tombstones_kept - 1);
    CHECK(diff(read_all(dir, o), compacted(all, active, much_later, kDeleteRetention)) == "");
    for (const auto& r : read_all(dir, o))
      if (r.offset < active) CHECK(r.value.has_value());
    CHECK(read_file(active_log) == active_bytes);
    CHECK(read_checkpoint(dir).second == -1);
    check_consistent(dir);
  }

  SUBCASE("new data: the next pass compacts it against the clean part") {
    auto more = append_phases(dir, o, {mixed_records(600, 1500)}, 10);
    all.insert(all.end(), more.begin(), more.end());
    const int64_t active2 = list_segments(dir).value().back();
    REQUIRE(active2 > active);
    auto r2 = compact(dir, o, kNow);
    CHECK(r2.segments_cleaned > 0);
    CHECK(diff(read_all(dir, o), compacted(all, active2, kNow, kDeleteRetention)) == "");
    CHECK(read_checkpoint(dir).first == active2);
    check_consistent(dir);
  }
}

TEST_CASE("compact_partition: a key map too small for the dirty keys takes several passes") {
  temp_root root;
  std::string dir = root.path + "/p-0";
  partition_options o = compact_options();
  o.segment_bytes = 16384;
  // 6000 records of ~4500 keys, then 6000 updating the same keys: more
  // keys than one pass can map, and passes that meet keys of the clean part.
  std::vector<in_rec> in;
  for (int i = 0; i < 12000; i++) {
    int k = i % 6000;
    std::string key = k % 4 == 0 ? "hot-" + std::to_string(k % 97) : "k" + std::to_string(k);
    in.push_back({1000 + i, key, std::to_string(i)});
  }
  auto all = append_phases(dir, o, {in}, 100);
  const int64_t active = list_segments(dir).value().back();
  const size_t small_map = 4096 * 24;  // 4096 slots: ~3600 keys per pass
  auto r1 = compact(dir, o, kNow, small_map);
  CHECK(r1.segments_cleaned > 0);
  auto cp = read_checkpoint(dir);
  CHECK(cp.first > 0);
  CHECK(cp.first < active);  // it stopped where the map was full
  check_consistent(dir);
  int passes = 1;
  for (int64_t done = cp.first; done < active && passes < 10; passes++) {
    compact(dir, o, kNow, small_map);
    check_consistent(dir);
    int64_t next = read_checkpoint(dir).first;
    REQUIRE(next > done);  // every pass makes progress
    done = next;
  }
  INFO(passes << " passes");
  CHECK(passes >= 3);
  CHECK(read_checkpoint(dir).first == active);
  CHECK(diff(read_all(dir, o), compacted(all, active, kNow, kDeleteRetention)) == "");
}

// ---------------------------------------------------------------- swap crashes

namespace {

// A partition whose segments are phases: B0..B4 sealed, B5 active. The
// crash states below interrupt the swap of the group {B0, B1, B2}; B3
// onwards must come through untouched.
struct swap_setup {
  temp_root root;
  std::string tmpl;  // the partition before the pass
  partition_options o;
  std::vector<rec> all;
  std::vector<int64_t> bases;
  // The cleaned segment for the group: what step 1 writes as B0.*.cleaned.
  std::string clean_log, clean_index, clean_times;
  std::string orig_index0, orig_times0;
  std::vector<rec> want_after;  // the partition once the swap committed

  // tail_dropped: B2 holds only keyless records, so the cleaned B0 ends
  // before B2 starts.
  explicit swap_setup(bool tail_dropped = false) {
    tmpl = root.path + "/template";
    o.segment_bytes = 1 << 20;
    o.segment_ms = 1000;  // each phase (timestamps 100 s apart) starts a segment
    o.cleanup_compact = true;
    o.cleanup_delete = false;
    o.min_cleanable_dirty_ratio = 0;
    std::vector<std::vector<in_rec>> phases(6);
    for (int p = 0; p < 6; p++)
      for (int i = 0; i < 160; i++) {
        int64_t ts = 1000 + 100'000 * p + i;
        int n = p * 1000 + i;
        opt_str key;
        if (tail_dropped && p == 2) key = std::nullopt;
        else if (i % 3 == 1 && i != 159) key = "hot-" + std::to_string(n % 7);
        else key = "unique-" + std::to_string(n);  // each segment ends with a survivor
        phases[p].push_back({ts, key, "value-" + std::to_string(n) + "-padding-padding-padding"});
      }
    all = append_phases(tmpl, o, phases, 20);
    bases = list_segments(tmpl).value();
    REQUIRE(bases.size() == 6);
    for (int p = 0; p < 6; p++) REQUIRE(bases[p] == p * 160);
    orig_index0 = read_file(seg(tmpl, bases[0], format::kIndexSuffix));
    orig_times0 = read_file(seg(tmpl, bases[0], format::kTimeIndexSuffix));
    REQUIRE_FALSE(orig_index0.empty());  // segments are big enough to be indexed

    // The cleaned segment, made by the real cleaner: on a copy of B0..B3
    // alone (B3 active there), with room for one group, it swaps
    // {B0, B1, B2} for one segment; take that segment's files.
    std::string q = root.path + "/compacted";
    REQUIRE(make_dirs(q).ok());
    for (int p = 0; p < 4; p++)
      for (const char* sfx : {format::kLogSuffix, format::kIndexSuffix, format::kTimeIndexSuffix})
        fs::copy_file(seg(tmpl, bases[p], sfx), seg(q, bases[p], sfx));
    partition_options oc = o;
    oc.segment_bytes = 1 << 30;
    auto r = compact(q, oc, kNow);
    REQUIRE(r.segments_cleaned == 3);
    REQUIRE(list_segments(q).value() == std::vector<int64_t>{bases[0], bases[3]});
    clean_log = read_file(seg(q, bases[0], format::kLogSuffix));
    clean_index = read_file(seg(q, bases[0], format::kIndexSuffix));
    clean_times = read_file(seg(q, bases[0], format::kTimeIndexSuffix));
    REQUIRE_FALSE(clean_index.empty());

    // After the swap: B0..B2 compacted (as a pass that saw up to B3
    // compacts them), B3.. as they were.
    want_after = compacted(offsets_from(all, 0, bases[3]), bases[3], kNow, o.delete_retention_ms);
    REQUIRE(want_after.size() * 4 < offsets_from(all, 0, bases[3]).size() * 3);
    REQUIRE(want_after.back().offset >= (tail_dropped ? bases[1] : bases[2]));
    // The cleaner's output is exactly that (and q's B3 is as it was).
    auto q_want = want_after, q_b3 = offsets_from(all, bases[3], bases[4]);
    q_want.insert(q_want.end(), q_b3.begin(), q_b3.end());
    CHECK(diff(read_all(q, o), q_want) == "");
    auto rest = offsets_from(all, bases[3]);
    want_after.insert(want_after.end(), rest.begin(), rest.end());
  }

  enum class crash {
    log_cleaned_only,     // step 1 cut short: only B0.log.cleaned
    cleaned_written,      // after step 1
    old_indexes_removed,  // after step 2
    committed,            // after step 3
    one_removed,          // step 4: B1 gone
    log_removed,          // step 4: B1 gone, B2.log gone but not its indexes
    all_removed,          // after step 4
    index_renamed,        // step 5: B0.index in place, B0.timeindex.cleaned not
  };

  // A copy of the template in the state the crash left.
  std::string make(crash c, const std::string& name) {
    std::string d = root.path + "/" + name;
    fs::copy(tmpl, d, fs::copy_options::recursive);
    int64_t b0 = bases[0];
    write_file(cleaned(d, b0, format::kLogSuffix), clean_log);
    if (c == crash::log_cleaned_only) return d;
    write_file(cleaned(d, b0, format::kIndexSuffix), clean_index);
    write_file(cleaned(d, b0, format::kTimeIndexSuffix), clean_times);
    // The manifest: the segments the swap replaces.
    write_file(d + "/" + segment_stem(b0) + format::kSwapManifestSuffix,
               std::to_string(bases[1]) + "\n" + std::to_string(bases[2]) + "\n");
    if (c == crash::cleaned_written) return d;
    fs::remove(seg(d, b0, format::kIndexSuffix));
    fs::remove(seg(d, b0, format::kTimeIndexSuffix));
    if (c == crash::old_indexes_removed) return d;
    fs::rename(cleaned(d, b0, format::kLogSuffix), seg(d, b0, format::kLogSuffix));
    if (c == crash::committed) return d;
    for (const char* s : {format::kLogSuffix, format::kIndexSuffix, format::kTimeIndexSuffix})
      fs::remove(seg(d, bases[1], s));
    if (c == crash::one_removed) return d;
    fs::remove(seg(d, bases[2], format::kLogSuffix));
    if (c == crash::log_removed) return d;
    fs::remove(seg(d, bases[2], format::kIndexSuffix));
    fs::remove(seg(d, bases[2], format::kTimeIndexSuffix));
    if (c == crash::all_removed) return d;
    fs::rename(cleaned(d, b0, format::kIndexSuffix), seg(d, b0, format::kIndexSuffix));
    return d;
  }

  static bool is_committed(crash c) {
    return c != crash::log_cleaned_only && c != crash::cleaned_written && c != crash::old_indexes_removed;
  }

  // What recovery must have made of a partition left in state c.
  void check_recovered(const std::string& d, crash c) {
    check_consistent(d);
    int64_t b0 = bases[0];
    auto now_bases = list_segments(d).value();
    if (is_committed(c)) {
      CHECK(now_bases == std::vector<int64_t>{bases[0], bases[3], bases[4], bases[5]});
      CHECK(read_file(seg(d, b0, format::kLogSuffix)) == clean_log);
      CHECK(read_file(seg(d, b0, format::kIndexSuffix)) == clean_index);
      CHECK(read_file(seg(d, b0, format::kTimeIndexSuffix)) == clean_times);
    } else {
      CHECK(now_bases == bases);
      CHECK(read_file(seg(d, b0, format::kIndexSuffix)) == orig_index0);
      CHECK(read_file(seg(d, b0, format::kTimeIndexSuffix)) == orig_times0);
    }
    const auto& want = is_committed(c) ? want_after : all;
    CHECK(diff(read_all(d, o), want) == "");
    // The indexes serve seeks into the swapped segment and past it.
    auto r = partition_reader::open(d, "test partition", o);
    REQUIRE(r.ok());
    for (size_t i : {size_t{0}, want.size() / 5, want.size() / 3, want.size() / 2, want.size() - 1}) {
      REQUIRE(r.value()->seek(want[i].offset).ok());
      record_view v;
      REQUIRE(r.value()->next(&v).value() == partition_reader::status::record);
      CHECK(v.offset == want[i].offset);
      CHECK(from_bv(v.value) == want[i].value);
    }
  }
};

const char* crash_name(swap_setup::crash c) {
  switch (c) {
    case swap_setup::crash::log_cleaned_only: return "log_cleaned_only";
    case swap_setup::crash::cleaned_written: return "cleaned_written";
    case swap_setup::crash::old_indexes_removed: return "old_indexes_removed";
    case swap_setup::crash::committed: return "committed";
    case swap_setup::crash::one_removed: return "one_removed";
    case swap_setup::crash::log_removed: return "log_removed";
    case swap_setup::crash::all_removed: return "all_removed";
    case swap_setup::crash::index_renamed: return "index_renamed";
  }
  return "?";
}

constexpr swap_setup::crash kCrashes[] = {
    swap_setup::crash::log_cleaned_only, swap_setup::crash::cleaned_written, swap_setup::crash::old_indexes_removed,
    swap_setup::crash::committed,        swap_setup::crash::one_removed,     swap_setup::crash::log_removed,
    swap_setup::crash::all_removed,      swap_setup::crash::index_renamed,
};

// Runs the sealed-segment recovery as a cleaner would (holding the lock).
recovery_report recover_as_cleaner(const std::string& d, const partition_options& o) {
  auto lock = partition_lock::acquire_cleaner(d);
  REQUIRE(lock.ok());
  auto io = make_posix_backend();
  recovery_report rep;
  REQUIRE(recover_sealed(*io, d, "test partition", readable_batch_limit(o.max_message_bytes), &rep).ok());
  return rep;
}

}  // namespace

TEST_CASE("compaction swap: recover_sealed finishes or undoes a swap cut at any step") {
  swap_setup s;
  for (auto c : kCrashes) {
    INFO("crash state " << crash_name(c));
    std::string d = s.make(c, std::string("sealed-") + crash_name(c));
    // The state is what it claims to be before recovery runs.
    CHECK(fs::exists(cleaned(d, s.bases[0], format::kTimeIndexSuffix)) == (c != swap_setup::crash::log_cleaned_only));
    CHECK(fs::exists(cleaned(d, s.bases[0], format::kLogSuffix)) == !swap_setup::is_committed(c));
    {
      recovery_report rep = recover_as_cleaner(d, s.o);
      CHECK_FALSE(rep.notes.empty());
      bool named = false;
      for (const auto& n : rep.notes) named |= n.find("compaction") != std::string::npos;
      CHECK(named);
    }
    s.check_recovered(d, c);
    // Recovery is idempotent: a second run changes nothing.
    {
      recovery_report rep = recover_as_cleaner(d, s.o);
      CHECK(rep.notes.empty());
    }
  }
}

TEST_CASE("compaction swap: an appender opening the partition completes the recovery") {
  swap_setup s;
  for (auto c : kCrashes) {
    INFO("crash state " << crash_name(c));
    std::string d = s.make(c, std::string("appender-") + crash_name(c));
    {
      auto w = partition_appender::open(d, "test partition", s.o);
      REQUIRE(w.ok());
      REQUIRE(w.value()->open_now().ok());
      CHECK(w.value()->next_offset() == s.all.back().offset + 1);
      CHECK_FALSE(w.value()->recovery_notes().empty());
    }
    s.check_recovered(d, c);
  }
}

TEST_CASE("compaction swap: a reader opening an unwritten partition completes the recovery") {
  swap_setup s;
  for (auto c : {swap_setup::crash::cleaned_written, swap_setup::crash::one_removed}) {
    INFO("crash state " << crash_name(c));
    std::string d = s.make(c, std::string("reader-") + crash_name(c));
    auto want = swap_setup::is_committed(c) ? s.want_after : s.all;
    CHECK(diff(read_all(d, s.o), want) == "");
    s.check_recovered(d, c);
  }
}

// An undo (of a swap that never committed) can itself be cut by a crash:
// whatever part of it is done, recovery must not take the swap for a
// committed one (that would delete B1..Bk while B0.log is the original).
TEST_CASE("compaction swap: a crash while undoing an uncommitted swap") {
  swap_setup s;
  int64_t b0 = s.bases[0];
  std::string manifest_name = segment_stem(b0) + format::kSwapManifestSuffix;
  struct state {
    const char* name;
    bool manifest, index, times, log;  // which files of the undo are still there
  };
  for (auto st : {state{"manifest removed", false, true, true, true},
                  state{"manifest and .index.cleaned removed", false, false, true, true},
                  state{"only .log.cleaned left", false, false, false, true},
                  state{"only .timeindex.cleaned left", false, false, true, false}}) {
    INFO("undo cut at: " << st.name);
    std::string d = s.make(swap_setup::crash::old_indexes_removed, std::string("undo-") + st.name);
    if (!st.manifest) fs::remove(d + "/" + manifest_name);
    if (!st.index) fs::remove(cleaned(d, b0, format::kIndexSuffix));
    if (!st.times) fs::remove(cleaned(d, b0, format::kTimeIndexSuffix));
    if (!st.log) fs::remove(cleaned(d, b0, format::kLogSuffix));
    recover_as_cleaner(d, s.o);
    CHECK_FALSE(fs::exists(d + "/" + manifest_name));
    s.check_recovered(d, swap_setup::crash::old_indexes_removed);  // the original partition, whole
  }
}

// When compaction dropped every record of the group's last segment(s), the
// cleaned B0 ends before them: only the swap's manifest says they belong to
// the group, and recovery must remove them (their dropped records, here
// keyless ones, must not come back).
TEST_CASE("compaction swap: a crash after the commit when the group's last segment was dropped entirely") {
  swap_setup s(true);
  // Precondition of the scenario: the cleaned B0 holds nothing from B2.
  int64_t clean_last = -1;
  for (const auto& r : s.want_after)
    if (r.offset < s.bases[3]) clean_last = r.offset;
  REQUIRE(clean_last < s.bases[2]);
  std::string d = s.make(swap_setup::crash::committed, "tail-dropped");
  recover_as_cleaner(d, s.o);
  // What holds today: consistent, and no surviving record lost.
  check_consistent(d);
  auto got = read_all(d, s.o);
  std::set<int64_t> got_offsets;
  for (const auto& r : got) got_offsets.insert(r.offset);
  for (const auto& r : s.want_after) CHECK(got_offsets.count(r.offset) == 1);
  // What the swap had committed to: B2 is gone.
  CHECK_FALSE(fs::exists(seg(d, s.bases[2], format::kLogSuffix)));
  CHECK(diff(got, s.want_after) == "");
}
