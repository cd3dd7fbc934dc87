// The mapped read path: a segment a reader has mapped never shrinks under
// it (a cut goes through a copy), what it reads is what pread would give,
// and a follower sees appends and cuts as before.
#include <doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "io/file.h"
#include "io/io_backend.h"
#include "kappa/log.h"
#include "kappa/log/format.h"
#include "log/segment_map.h"
#include "log/segment_name.h"

using namespace kappa;

namespace {

// Values of about 200 bytes: 8000 of them fill more than the 1 MiB from
// which a reader maps a segment instead of reading it into buffers.
std::string value_of(int i) { return "record-" + std::to_string(i) + "-" + std::string(190, 'a' + i % 26); }

struct partition {
  std::string root, dir;
  partition_options o;
  explicit partition(bool prefetch) {
    char tmpl[] = "/tmp/kappa-map-XXXXXX";
    root = mkdtemp(tmpl);
    dir = root + "/p";
    o.prefetch = prefetch;
  }
  ~partition() { std::filesystem::remove_all(root); }
  void append(int from, int to) {
    auto w = partition_appender::open(dir, "test partition", o);
    REQUIRE(w.ok());
    for (int i = from; i < to; i++) {
      std::string v = value_of(i);
      REQUIRE(w.value()->append(1000 + i, bytes_view::null(), bytes_view::of(v)).ok());
    }
    REQUIRE(w.value()->sync().ok());
  }
  std::unique_ptr<partition_reader> reader() {
    auto r = partition_reader::open(dir, "test partition", o);
    REQUIRE(r.ok());
    return std::move(r.value());
  }
  std::string log() const { return segment_path(dir, 0, format::kLogSuffix); }
  ino_t inode() const {
    struct stat st;
    REQUIRE(::stat(log().c_str(), &st) == 0);
    return st.st_ino;
  }
};

// Reads up to `max` records with next_values, checking each against value_of.
int64_t read_values(partition_reader& r, int64_t expect, int64_t max) {
  int64_t offsets[64];
  bytes_view values[64];
  int64_t got = 0;
  while (got < max) {
    size_t n = 0;
    auto st = r.next_values(offsets, values, std::min<int64_t>(64, max - got), &n);
    REQUIRE(st.ok());
    if (st.value() != partition_reader::status::record) break;
    for (size_t i = 0; i < n; i++, got++) {
      REQUIRE(offsets[i] == expect + got);
      REQUIRE(values[i].view() == value_of(static_cast<int>(offsets[i])));
    }
  }
  return got;
}

}  // namespace

TEST_CASE("a mapped segment reads the same records as a buffered one, with and without prefetching") {
  for (bool prefetch : {false, true}) {
    partition p(prefetch);
    p.append(0, 20000);  // ~4 MB: mapped
    auto r = p.reader();
    CHECK(read_values(*r, 0, 1 << 30) == 20000);
    // Seeks land where asked, inside the mapping.
    REQUIRE(r->seek(12345).ok());
    CHECK(read_values(*r, 12345, 10) == 10);
    REQUIRE(r->seek(19990).ok());
    CHECK(read_values(*r, 19990, 1 << 30) == 10);
  }
}

TEST_CASE("a cut while a reader maps the segment writes a copy; without one it cuts in place") {
  partition p(true);
  p.append(0, 300);  // batches end at 300 and 500: places to cut
  p.append(300, 500);
  p.append(500, 20000);
  ino_t before = p.inode();
  auto r = p.reader();
  CHECK(read_values(*r, 0, 100) == 100);  // the segment is mapped now
  {
    auto w = partition_appender::open(p.dir, "test partition", p.o);
    REQUIRE(w.ok());
    Status st = w.value()->truncate_to(500);
    INFO(st.message());
    REQUIRE(st.ok());
  }
  CHECK(p.inode() != before);  // a new file under the old name
  CHECK(!std::filesystem::exists(p.log() + format::kCuttingSuffix));
  // The reader goes on through its old mapping to its end (every page
  // still there: no SIGBUS), then finds the shorter file and waits at its
  // end; what is appended after the cut reaches it.
  CHECK(read_values(*r, 100, 1 << 30) == 19900);
  p.append(500, 600);
  auto again = p.reader();
  CHECK(read_values(*again, 0, 1 << 30) == 600);
  r.reset();
  again.reset();
  // No reader now: the cut is in place.
  ino_t now = p.inode();
  {
    auto w = partition_appender::open(p.dir, "test partition", p.o);
    REQUIRE(w.ok());
    REQUIRE(w.value()->truncate_to(300).ok());
  }
  CHECK(p.inode() == now);
  auto last = p.reader();
  CHECK(read_values(*last, 0, 1 << 30) == 300);
}

TEST_CASE("a follower of a mapped segment sees what is appended after it caught up") {
  partition p(true);
  p.append(0, 8000);
  auto r = p.reader();
  CHECK(read_values(*r, 0, 1 << 30) == 8000);
  p.append(8000, 8010);  // a little: read into the buffers
  CHECK(read_values(*r, 8000, 1 << 30) == 10);
  p.append(8010, 20000);  // a lot
  CHECK(read_values(*r, 8010, 1 << 30) == 11990);
}

TEST_CASE("segment_map keeps readable zero bytes after a file that ends on a page boundary") {
  char tmpl[] = "/tmp/kappa-map-XXXXXX";
  std::string root = mkdtemp(tmpl), path = root + "/f";
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  {
    auto f = open_file(path, O_RDWR | O_CREAT);
    REQUIRE(f.ok());
    std::string bytes(2 * page, 'x');
    REQUIRE(::pwrite(f.value().get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  }
  auto f = open_file(path, O_RDONLY);
  REQUIRE(f.ok());
  REQUIRE(try_lock_segment_shared(f.value().get()));
  segment_map m;
  REQUIRE(m.map(f.value().get(), 2 * page, path).ok());
  CHECK(m.data()[2 * page - 1] == 'x');
  for (size_t i = 0; i < segment_map::kTailPadding; i++) CHECK(m.data()[2 * page + i] == 0);
  m.unmap();
  std::filesystem::remove_all(root);
}

TEST_CASE("a damaged batch in a mapped segment is caught whether or not the prefetcher checked the CRCs") {
  for (bool prefetch : {false, true}) {
    partition p(prefetch);
    p.append(0, 20000);
    // Flip a byte in a record of a batch about 2 MB in (inside a value).
    {
      auto f = open_file(p.log(), O_RDWR);
      REQUIRE(f.ok());
      char c;
      REQUIRE(::pread(f.value().get(), &c, 1, 2000000) == 1);
      c ^= 0x20;
      REQUIRE(::pwrite(f.value().get(), &c, 1, 2000000) == 1);
    }
    auto r = p.reader();
    int64_t offsets[64];
    bytes_view values[64];
    int64_t good = 0;
    partition_reader::status last = partition_reader::status::record;
    for (;;) {
      size_t n = 0;
      auto st = r->next_values(offsets, values, 64, &n);
      REQUIRE(st.ok());
      last = st.value();
      if (last != partition_reader::status::record) break;
      for (size_t i = 0; i < n; i++, good++) REQUIRE(values[i].view() == value_of(static_cast<int>(offsets[i])));
    }
    CHECK(last == partition_reader::status::corrupt);
    CHECK(r->corruption().why.find("CRC-32C mismatch") != std::string::npos);
    CHECK(good > 5000);  // everything before the damage was read
    CHECK(good < 12000);
  }
}
