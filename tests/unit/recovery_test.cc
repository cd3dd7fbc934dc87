// Appender, reader and recovery on real files in a temp directory, with a
// byte-corrupting fixture in the spirit of leveldb's log_test.
#include <doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kappa/log.h"
#include "log/segment.h"
#include "log/segment_name.h"

using namespace kappa;
namespace fs = std::filesystem;

namespace {

struct fixture {
  std::string dir;
  partition_options opts;
  fixture() {
    char tmpl[] = "/tmp/kappa-unit-XXXXXX";
    dir = std::string(mkdtemp(tmpl)) + "/p-0";
  }
  ~fixture() { fs::remove_all(fs::path(dir).parent_path()); }

  void write(int from, int n) {
    auto w = partition_appender::open(dir, "test partition", opts);
    REQUIRE(w.ok());
    for (int i = from; i < from + n; i++) {
      std::string v = "record-" + std::to_string(i);
      REQUIRE(w.value()->append(1000 + i, bytes_view::null(), bytes_view::of(v)).ok());
    }
    REQUIRE(w.value()->sync().ok());
  }
  std::vector<std::string> read_all() {
    auto r = partition_reader::open(dir, "test partition", opts);
    REQUIRE(r.ok());
    std::vector<std::string> out;
    record_view rec;
    for (;;) {
      auto st = r.value()->next(&rec);
      REQUIRE(st.ok());
      if (st.value() != partition_reader::status::record) break;
      out.emplace_back(rec.value.view());
    }
    return out;
  }
  std::string last_log() {
    auto bases = list_segments(dir);
    return segment_path(dir, bases.value().back(), ".log");
  }
  void shrink(const std::string& path, uint64_t by) { fs::resize_file(path, fs::file_size(path) - by); }
  void append_garbage(const std::string& path, const std::string& junk) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    REQUIRE(::write(fd, junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
    ::close(fd);
  }
  void flip_byte(const std::string& path, uint64_t at) {
    int fd = ::open(path.c_str(), O_RDWR);
    char c;
    REQUIRE(::pread(fd, &c, 1, static_cast<off_t>(at)) == 1);
    c ^= 0x01;
    REQUIRE(::pwrite(fd, &c, 1, static_cast<off_t>(at)) == 1);
    ::close(fd);
  }
};

}  // namespace

TEST_CASE("records written are read back in order") {
  fixture f;
  f.write(0, 1000);
  auto got = f.read_all();
  REQUIRE(got.size() == 1000);
  CHECK(got[0] == "record-0");
  CHECK(got[999] == "record-999");
}

TEST_CASE("torn tail: a cut last batch plus garbage recovers to the whole batches") {
  fixture f;
  f.write(0, 10);
  f.write(10, 10);  // a second batch
  f.shrink(f.last_log(), 5);
  f.append_garbage(f.last_log(), "garbage-garbage-garbage");
  auto w = partition_appender::open(f.dir, "test partition", f.opts);
  REQUIRE(w.ok());
  CHECK(w.value()->next_offset() == -1);  // recovery waits for first use
  REQUIRE(w.value()->open_now().ok());
  CHECK(w.value()->next_offset() == 10);
  CHECK(w.value()->recovery_notes().size() == 1);
  w.value().reset();
  auto got = f.read_all();
  CHECK(got.size() == 10);
  f.write(10, 1);
  got = f.read_all();
  REQUIRE(got.size() == 11);
  CHECK(got[10] == "record-10");
}

TEST_CASE("segments roll by segment.bytes and offsets stay dense across them") {
  fixture f;
  f.opts.segment_bytes = 2048;
  for (int i = 0; i < 20; i++) f.write(i * 50, 50);
  auto bases = list_segments(f.dir);
  REQUIRE(bases.ok());
  CHECK(bases.value().size() > 3);
  auto got = f.read_all();
  REQUIRE(got.size() == 1000);
  for (int i = 0; i < 1000; i++) CHECK(got[static_cast<size_t>(i)] == "record-" + std::to_string(i));
}

TEST_CASE("seek lands on the requested offset through the index") {
  fixture f;
  f.opts.segment_bytes = 1 << 20;
  for (int i = 0; i < 50; i++) f.write(i * 100, 100);  // 50 batches, index entries every ~4 KiB
  auto r = partition_reader::open(f.dir, "test partition", f.opts);
  REQUIRE(r.ok());
  for (int64_t target : {0, 1, 99, 100, 2345, 4999}) {
    REQUIRE(r.value()->seek(target).ok());
    record_view rec;
    auto st = r.value()->next(&rec);
    REQUIRE(st.ok());
    REQUIRE(st.value() == partition_reader::status::record);
    CHECK(rec.offset == target);
  }
  REQUIRE(r.value()->seek_to_timestamp(1000 + 3210).ok());
  record_view rec;
  REQUIRE(r.value()->next(&rec).value() == partition_reader::status::record);
  CHECK(rec.offset == 3210);
  auto end = r.value()->log_end_offset();
  REQUIRE(end.ok());
  CHECK(end.value() == 5000);
}

TEST_CASE("a flipped byte in a sealed segment is reported, never returned, and skippable") {
  fixture f;
  f.opts.segment_bytes = 2048;
  for (int i = 0; i < 10; i++) f.write(i * 50, 50);
  auto bases = list_segments(f.dir).value();
  REQUIRE(bases.size() >= 3);
  std::string sealed = segment_path(f.dir, bases[1], ".log");
  f.flip_byte(sealed, 100);
  auto r = partition_reader::open(f.dir, "test partition", f.opts);
  REQUIRE(r.ok());
  record_view rec;
  int64_t last = -1;
  for (;;) {
    auto st = r.value()->next(&rec);
    REQUIRE(st.ok());
    if (st.value() == partition_reader::status::record) {
      last = rec.offset;
      continue;
    }
    REQUIRE(st.value() == partition_reader::status::corrupt);
    break;
  }
  CHECK(last == bases[1] - 1);
  CHECK(r.value()->corruption().segment == sealed);
  CHECK(r.value()->corruption().offset == bases[1]);
  auto next = r.value()->skip_corrupt();
  REQUIRE(next.ok());
  CHECK(next.value() > bases[1]);
  auto st = r.value()->next(&rec);
  REQUIRE(st.value() == partition_reader::status::record);
  CHECK(rec.offset == next.value());
}

TEST_CASE("a second writer is refused while the first holds the lock") {
  fixture f;
  auto w1 = partition_appender::open(f.dir, "test partition", f.opts);
  REQUIRE(w1.ok());
  auto w2 = partition_appender::open(f.dir, "test partition", f.opts);
  REQUIRE_FALSE(w2.ok());
  CHECK(w2.status().is_busy());
  CHECK(w2.status().message().find(std::to_string(::getpid())) != std::string::npos);
}

TEST_CASE("a missing index is rebuilt from the log") {
  fixture f;
  f.opts.segment_bytes = 8192;
  for (int i = 0; i < 10; i++) f.write(i * 100, 100);
  auto bases = list_segments(f.dir).value();
  std::string idx = segment_path(f.dir, bases[0], ".index");
  auto before = fs::file_size(idx);
  fs::remove(idx);
  auto w = partition_appender::open(f.dir, "test partition", f.opts);
  REQUIRE(w.ok());
  REQUIRE(w.value()->open_now().ok());
  CHECK(fs::exists(idx));
  CHECK(fs::file_size(idx) == before);
}
