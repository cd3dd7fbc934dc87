// The embedding API as a program uses it: only include/kappa headers.
#include <doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kappa/catalog.h"
#include "kappa/data_dir.h"
#include "kappa/session_job.h"

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

namespace {

std::vector<std::string> read_values(kappa::data_dir& dd, const std::string& topic, int32_t partition) {
  std::vector<std::string> out;
  auto meta = dd.topic(topic);
  REQUIRE(meta.ok());
  auto r = dd.open_reader(meta.value(), partition);
  REQUIRE(r.ok());
  REQUIRE(r.value()->seek(0).ok());
  kappa::record_view rec;
  for (;;) {
    auto st = r.value()->next(&rec);
    REQUIRE(st.ok());
    if (st.value() != kappa::partition_reader::status::record) break;
    out.emplace_back(rec.value.view());
  }
  return out;
}

}  // namespace

TEST_CASE("a program embeds a session-window job and resumes it from its checkpoint") {
  char tmpl[] = "/tmp/kappa-lib-XXXXXX";
  std::string path = mkdtemp(tmpl);
  {
    auto dd = kappa::data_dir::open(path, true);
    REQUIRE(dd.ok());
    kappa::topic_meta t;
    t.name = "clicks";
    REQUIRE(dd.value()->create_topic(t).ok());
    auto meta = dd.value()->topic("clicks").value();
    auto append = [&](const std::vector<std::pair<std::string, int64_t>>& events) {
      auto w = dd.value()->open_appender(meta, 0);
      REQUIRE(w.ok());
      for (const auto& [user, ts] : events) {
        std::string v = "{\"user\":\"" + user + "\",\"ts\":" + std::to_string(ts) + "}";
        REQUIRE(w.value()->append(ts, kappa::bytes_view::of(user), kappa::bytes_view::of(v)).ok());
      }
      REQUIRE(w.value()->sync().ok());
    };
    kappa::session_job_options o;
    o.input = "clicks";
    o.output = "sessions";
    o.key_field = "user";
    o.time_field = "ts";
    o.gap_ms = 100;
    o.threads = 1;

    // Run 1: a's session [1000, 1150) closes when b's event at 1300 moves
    // the watermark to 1299; b's stays open, in the checkpoint.
    append({{"a", 1000}, {"a", 1050}, {"b", 1300}});
    {
      auto job = kappa::session_job::open(*dd.value(), o);
      REQUIRE(job.ok());
      REQUIRE(job.value()->run().ok());
      CHECK(job.value()->stats().sessions == 1);
      CHECK(job.value()->stats().open_sessions == 1);
      // A second run of the same job at the same time is refused.
      auto twice = kappa::session_job::open(*dd.value(), o);
      CHECK(twice.status().is_busy());
    }
    // Run 2 resumes: b's session grows from its checkpointed state.
    append({{"b", 1350}, {"c", 2000}});
    {
      auto job = kappa::session_job::open(*dd.value(), o);
      INFO(job.status().message());
      REQUIRE(job.ok());
      REQUIRE(job.value()->run().ok());
      CHECK(job.value()->stats().events == 5);
    }
    auto values = read_values(*dd.value(), "sessions", 0);
    REQUIRE(values.size() == 2);
    CHECK(values[0] == R"({"key":"a","window_start":1000,"window_end":1150,"count":2,"late_update":false})");
    CHECK(values[1] == R"({"key":"b","window_start":1300,"window_end":1450,"count":2,"late_update":false})");
  }
  std::filesystem::remove_all(path);
}
