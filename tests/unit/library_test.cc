// The embedding API as a program uses it: only include/kappa headers.
#include <doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "kappa/catalog.h"
#include "kappa/data_dir.h"

TEST_CASE("a program opens a data dir, appends and reads from an offset") {
  char tmpl[] = "/tmp/kappa-lib-XXXXXX";
  std::string path = mkdtemp(tmpl);
  {
    auto dd = kappa::data_dir::open(path, true);
    REQUIRE(dd.ok());
    kappa::topic_meta t;
    t.name = "events";
    t.partitions = 2;
    REQUIRE(dd.value()->create_topic(t).ok());
    auto meta = dd.value()->topic("events");
    REQUIRE(meta.ok());
    CHECK(meta->partitions == 2);

    auto w = dd.value()->open_appender(meta.value(), 1);
    REQUIRE(w.ok());
    for (int i = 0; i < 100; i++) {
      std::string v = "event-" + std::to_string(i);
      REQUIRE(w.value()->append(1000 + i, kappa::bytes_view::of("k"), kappa::bytes_view::of(v)).ok());
    }
    REQUIRE(w.value()->sync().ok());
    CHECK(w.value()->next_offset() == 100);

    auto r = dd.value()->open_reader(meta.value(), 1);
    REQUIRE(r.ok());
    REQUIRE(r.value()->seek(42).ok());
    kappa::record_view rec;
    auto st = r.value()->next(&rec);
    REQUIRE(st.ok());
    REQUIRE(st.value() == kappa::partition_reader::status::record);
    CHECK(rec.offset == 42);
    CHECK(rec.key.view() == "k");
    CHECK(rec.value.view() == "event-42");
    CHECK(rec.timestamp == 1042);
    auto end = r.value()->log_end_offset();
    REQUIRE(end.ok());
    CHECK(end.value() == 100);
  }
  std::filesystem::remove_all(path);
}

TEST_CASE("opening a data dir that does not exist creates nothing") {
  std::string path = "/tmp/kappa-lib-missing-" + std::to_string(::getpid());
  auto dd = kappa::data_dir::open(path, false);
  REQUIRE(dd.ok());
  CHECK(dd.value()->catalog() == nullptr);
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(dd.value()->topic("x").status().is_not_found());
}
