// Cutting a partition back to an offset (what an exactly-once job does to
// its output before it resumes from a checkpoint).
#include <doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kappa/log.h"
#include "log/segment.h"

using namespace kappa;

namespace {

struct partition {
  std::string dir;
  partition_options o;
  partition() {
    char tmpl[] = "/tmp/kappa-trunc-XXXXXX";
    dir = std::string(mkdtemp(tmpl)) + "/p";
    o.segment_bytes = 2048;  // several segments
  }
  ~partition() { std::filesystem::remove_all(std::filesystem::path(dir).parent_path()); }

  // Appends records [from, to), one batch per `per_batch` records.
  void append(int from, int to, int per_batch) {
    auto w = partition_appender::open(dir, "test partition", o);
    REQUIRE(w.ok());
    for (int i = from; i < to; i++) {
      std::string v = "value-" + std::to_string(i) + "-padding-padding";
      REQUIRE(w.value()->append(1000 + i, bytes_view::null(), bytes_view::of(v)).ok());
      if ((i + 1) % per_batch == 0) REQUIRE(w.value()->flush().ok());
    }
    REQUIRE(w.value()->sync().ok());
  }
  std::vector<std::string> values() {
    std::vector<std::string> out;
    auto r = partition_reader::open(dir, "test partition", o);
    REQUIRE(r.ok());
    record_view rec;
    int64_t expect = 0;
    while (r.value()->next(&rec).value() == partition_reader::status::record) {
      CHECK(rec.offset == expect++);
      out.emplace_back(rec.value.view());
    }
    return out;
  }
  Status truncate(int64_t end) {
    auto w = partition_appender::open(dir, "test partition", o);
    REQUIRE(w.ok());
    return w.value()->truncate_to(end);
  }
};

}  // namespace

TEST_CASE("truncate_to cuts at a batch boundary, across segments, and appends go on from there") {
  partition p;
  p.append(0, 300, 10);  // batches of 10 records
  REQUIRE(list_segments(p.dir).value().size() > 3);
  REQUIRE(p.truncate(120).ok());
  auto v = p.values();
  REQUIRE(v.size() == 120);
  CHECK(v.back() == "value-119-padding-padding");
  CHECK(list_segments(p.dir).value().back() <= 120);
  {
    auto w = partition_appender::open(p.dir, "test partition", p.o);
    REQUIRE(w.ok());
    REQUIRE(w.value()->open_now().ok());
    CHECK(w.value()->next_offset() == 120);
    REQUIRE(w.value()->append(5, bytes_view::null(), bytes_view::of("after")).ok());
    REQUIRE(w.value()->sync().ok());
  }
  v = p.values();
  REQUIRE(v.size() == 121);
  CHECK(v.back() == "after");
  // Cutting again to the same place is a no-op; beyond the end too.
  REQUIRE(p.truncate(121).ok());
  REQUIRE(p.truncate(500).ok());
  CHECK(p.values().size() == 121);
}

TEST_CASE("truncate_to refuses to split a batch or to go below the log start") {
  partition p;
  p.append(0, 40, 10);
  Status s = p.truncate(15);
  CHECK(s.is_invalid());
  CHECK(s.message().find("inside the batch of offsets 10..19") != std::string::npos);
  CHECK(p.values().size() == 40);  // nothing changed
  REQUIRE(p.truncate(0).ok());     // everything
  CHECK(p.values().empty());
  partition q;
  CHECK(q.truncate(0).ok());       // an empty partition at 0
  CHECK(q.truncate(5).is_invalid());
}
