// partition_reader::next_batch_range: the stored batches as file ranges (what
// kappa serve's Fetch sends with sendfile), checked as next_batch checks them.
#include <doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kappa/log.h"
#include "kappa/log/format.h"
#include "log/segment.h"
#include "log/segment_name.h"

using namespace kappa;

namespace {

struct stored_batch {
  std::string path;
  uint64_t position, length;
};

struct partition {
  std::string dir;
  partition_options o;
  explicit partition(uint64_t segment_bytes) {
    char tmpl[] = "/tmp/kappa-range-XXXXXX";
    dir = std::string(mkdtemp(tmpl)) + "/p";
    o.segment_bytes = segment_bytes;
  }
  ~partition() { std::filesystem::remove_all(std::filesystem::path(dir).parent_path()); }

  // Appends records [from, to), a batch of `per_batch` records at a time.
  void append(int from, int to, int per_batch) {
    auto w = partition_appender::open(dir, "test partition", o);
    REQUIRE(w.ok());
    for (int i = from; i < to; i++) {
      std::string v = "value-" + std::to_string(i) + std::string(static_cast<size_t>(i % 97), 'x');
      REQUIRE(w.value()->append(1000 + i, bytes_view::null(), bytes_view::of(v)).ok());
      if ((i + 1) % per_batch == 0) REQUIRE(w.value()->flush().ok());
    }
    REQUIRE(w.value()->sync().ok());
  }
  std::unique_ptr<partition_reader> reader() {
    auto r = partition_reader::open(dir, "test partition", o);
    REQUIRE(r.ok());
    return std::move(r.value());
  }
  // Every batch in the segment files, in order, by walking their lengths.
  std::vector<stored_batch> batches() {
    std::vector<stored_batch> out;
    std::vector<int64_t> bases = list_segments(dir).value();
    for (int64_t base : bases) {
      std::string path = segment_path(dir, base, format::kLogSuffix);
      std::string f = file(path);
      for (uint64_t at = 0; at + format::kLogOverhead <= f.size();) {
        const auto* p = reinterpret_cast<const unsigned char*>(f.data() + at + format::kBatchLengthOffset);
        uint64_t total = format::kLogOverhead + (uint64_t{p[0]} << 24 | p[1] << 16 | p[2] << 8 | p[3]);
        out.push_back({path, at, total});
        at += total;
      }
    }
    return out;
  }
  static std::string file(const std::string& path) {
    std::string s(std::filesystem::file_size(path), '\0');
    int fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(::pread(fd, s.data(), s.size(), 0) == static_cast<ssize_t>(s.size()));
    ::close(fd);
    return s;
  }
};

// The bytes of a range, read through its own file handle.
std::string bytes_of(const batch_range& r) {
  std::string s(r.length, '\0');
  REQUIRE(::pread(r.file->fd(), s.data(), s.size(), static_cast<off_t>(r.position)) == static_cast<ssize_t>(r.length));
  return s;
}

// All ranges from `from` on, max_bytes each.
std::vector<batch_range> all_ranges(partition_reader& r, uint64_t max_bytes, partition_reader::status* last) {
  std::vector<batch_range> out;
  for (;;) {
    batch_range br;
    auto st = r.next_batch_range(&br, max_bytes);
    REQUIRE(st.ok());
    *last = st.value();
    if (st.value() != partition_reader::status::record) return out;
    out.push_back(br);
  }
}

std::string all_batches(partition_reader& r) {
  std::string out;
  std::string_view b;
  while (r.next_batch(&b).value() == partition_reader::status::record) out.append(b);
  return out;
}

}  // namespace

TEST_CASE("next_batch_range: one range per segment, the very bytes next_batch returns") {
  // Small segments are read through the buffers, a large one mapped.
  for (uint64_t segment_bytes : {uint64_t{8192}, uint64_t{64} << 20}) {
    CAPTURE(segment_bytes);
    partition p(segment_bytes);
    p.append(0, segment_bytes > 8192 ? 40000 : 2000, 10);
    auto segments = list_segments(p.dir).value();
    REQUIRE(segments.size() == (segment_bytes > 8192 ? 1u : segments.size()));
    if (segment_bytes == 8192) REQUIRE(segments.size() > 5);
    partition_reader::status last;
    auto r = p.reader();
    auto ranges = all_ranges(*r, UINT64_MAX, &last);
    CHECK(last == partition_reader::status::end);
    REQUIRE(ranges.size() == segments.size());
    std::string via_ranges;
    int64_t next = 0;
    for (size_t i = 0; i < ranges.size(); i++) {
      CHECK(ranges[i].position == 0);
      CHECK(ranges[i].file->path() == segment_path(p.dir, segments[i], format::kLogSuffix));
      CHECK(ranges[i].base_offset == next);
      next = ranges[i].last_offset + 1;
      via_ranges += bytes_of(ranges[i]);
    }
    CHECK(next == (segment_bytes > 8192 ? 40000 : 2000));
    CHECK(via_ranges == all_batches(*p.reader()));
    CHECK(r->position() == next);
  }
}

TEST_CASE("next_batch_range: a budget ends a range at a batch boundary; the first batch comes whatever its size") {
  partition p(1 << 20);
  p.append(0, 500, 10);
  auto stored = p.batches();
  REQUIRE(stored.size() == 50);
  auto r = p.reader();
  batch_range br;
  // Three batches fit, the fourth does not.
  uint64_t three = stored[0].length + stored[1].length + stored[2].length;
  REQUIRE(r->next_batch_range(&br, three + stored[3].length - 1).value() == partition_reader::status::record);
  CHECK(br.batches == 3);
  CHECK(br.records == 30);
  CHECK(br.length == three);
  CHECK(br.base_offset == 0);
  CHECK(br.last_offset == 29);
  // Smaller than one batch: that batch alone.
  REQUIRE(r->next_batch_range(&br, 1).value() == partition_reader::status::record);
  CHECK(br.batches == 1);
  CHECK(br.position == stored[3].position);
  CHECK(br.length == stored[3].length);
  // Not even one batch when asked so: left for the next call, with no seek.
  REQUIRE(r->next_batch_range(&br, stored[4].length - 1, false).value() == partition_reader::status::end);
  REQUIRE(r->next_batch_range(&br, stored[4].length, false).value() == partition_reader::status::record);
  CHECK(br.position == stored[4].position);
  CHECK(br.batches == 1);
  // From an offset inside a batch: that batch on.
  REQUIRE(r->seek(255).ok());
  REQUIRE(r->next_batch_range(&br, UINT64_MAX).value() == partition_reader::status::record);
  CHECK(br.base_offset == 250);
  CHECK(br.position == stored[25].position);
  CHECK(br.last_offset == 499);
}

TEST_CASE("next_batch_range: a torn tail appended under the reader is not served") {
  partition p(1 << 20);
  p.append(0, 100, 10);
  auto stored = p.batches();
  auto r = p.reader();  // opened before the damage: it does not repair it
  // Half of a copy of the last batch, as a writer that died mid-write leaves it.
  std::string path = stored.back().path;
  std::string tail = partition::file(path).substr(stored.back().position, stored.back().length / 2);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
  REQUIRE(::write(fd, tail.data(), tail.size()) == static_cast<ssize_t>(tail.size()));
  ::close(fd);
  partition_reader::status last;
  auto ranges = all_ranges(*r, UINT64_MAX, &last);
  CHECK(last == partition_reader::status::end);
  REQUIRE(ranges.size() == 1);
  CHECK(ranges[0].length == stored.back().position + stored.back().length);
  CHECK(ranges[0].last_offset == 99);
}

TEST_CASE("next_batch_range: damage ends the range before it and is reported as next_batch reports it") {
  partition p(1 << 20);
  p.append(0, 200, 10);
  auto stored = p.batches();
  REQUIRE(stored.size() == 20);
  {  // a byte of batch 7's records flipped: its CRC fails
    int fd = ::open(stored[7].path.c_str(), O_RDWR);
    char c;
    off_t at = static_cast<off_t>(stored[7].position + stored[7].length - 3);
    REQUIRE(::pread(fd, &c, 1, at) == 1);
    c = static_cast<char>(c ^ 0x55);
    REQUIRE(::pwrite(fd, &c, 1, at) == 1);
    ::close(fd);
  }
  auto by_batch = p.reader();
  std::string_view b;
  while (by_batch->next_batch(&b).value() == partition_reader::status::record) {
  }
  auto r = p.reader();
  partition_reader::status last;
  auto ranges = all_ranges(*r, UINT64_MAX, &last);
  CHECK(last == partition_reader::status::corrupt);
  REQUIRE(ranges.size() == 1);
  CHECK(ranges[0].length == stored[7].position);
  CHECK(ranges[0].last_offset == 69);
  CHECK(r->corruption().position == stored[7].position);
  CHECK(r->corruption().position == by_batch->corruption().position);
  CHECK(r->corruption().offset == by_batch->corruption().offset);
  CHECK(r->corruption().why == by_batch->corruption().why);
  // Asked again, the damage is reported again; skipped, the rest is served.
  batch_range br;
  CHECK(r->next_batch_range(&br, UINT64_MAX).value() == partition_reader::status::corrupt);
  REQUIRE(r->skip_corrupt().ok());
  REQUIRE(r->next_batch_range(&br, UINT64_MAX).value() == partition_reader::status::record);
  CHECK(br.position == stored[8].position);
  CHECK(br.last_offset == 199);
}
