// partition_reader::log_end_offset reuses its last scan while the newest
// segment file is unchanged: it must still see every append, a cut, and a
// replaced file at once.
#include <doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "kappa/log.h"
#include "kappa/log/format.h"
#include "log/segment.h"
#include "log/segment_name.h"

using namespace kappa;

namespace {

struct partition {
  std::string dir;
  partition_options o;
  partition() {
    char tmpl[] = "/tmp/kappa-leo-XXXXXX";
    dir = std::string(mkdtemp(tmpl)) + "/p";
  }
  ~partition() { std::filesystem::remove_all(std::filesystem::path(dir).parent_path()); }
  void append(int n) {
    auto w = partition_appender::open(dir, "test partition", o);
    REQUIRE(w.ok());
    for (int i = 0; i < n; i++) REQUIRE(w.value()->append(1000 + i, bytes_view::null(), bytes_view::of("v")).ok());
    REQUIRE(w.value()->sync().ok());
  }
  std::string log() { return segment_path(dir, list_segments(dir).value().back(), format::kLogSuffix); }
};

}  // namespace

TEST_CASE("log_end_offset follows appends, cuts and replaced files, with or without a rescan") {
  partition p;
  p.append(100);
  auto r = partition_reader::open(p.dir, "test partition", p.o);
  REQUIRE(r.ok());
  CHECK(r.value()->log_end_offset().value() == 100);
  CHECK(r.value()->log_end_offset().value() == 100);  // unchanged: from the last scan
  p.append(10);
  CHECK(r.value()->log_end_offset().value() == 110);
  uint64_t size = std::filesystem::file_size(p.log());
  // Cut back in place (as a job cutting its output does): the end moves back.
  std::filesystem::copy_file(p.log(), p.dir + "/saved");
  {
    auto w = partition_appender::open(p.dir, "test partition", p.o);
    REQUIRE(w.ok());
    REQUIRE(w.value()->truncate_to(100).ok());
  }
  CHECK(r.value()->log_end_offset().value() == 100);
  // Replaced by another file of the very size the last scan saw.
  std::filesystem::rename(p.dir + "/saved", p.log());
  REQUIRE(std::filesystem::file_size(p.log()) == size);
  CHECK(r.value()->log_end_offset().value() == 110);
}
