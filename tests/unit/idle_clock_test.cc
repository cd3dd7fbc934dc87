// --idle-timeout: the rule of SPEC section 5 on its own (idle_clock) and in
// a sessionize partition task, where it closes the sessions of a quiet input.
#include <doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "processor/idle_clock.h"
#include "processor/session_task.h"

using namespace kappa;

TEST_CASE("idle clock: the watermark moves by the quiet time past the timeout, from the one after the last record") {
  idle_clock off(0);
  off.record(1000, 500);
  CHECK_FALSE(off.enabled());
  CHECK(off.watermark_at(1'000'000) == idle_clock::kNone);

  idle_clock c(10'000);
  CHECK(c.watermark_at(50'000) == idle_clock::kNone);  // no record yet
  c.record(1000, idle_clock::kNone);                    // a record before any event: no watermark to move
  CHECK(c.watermark_at(50'000) == idle_clock::kNone);
  c.record(1000, 899);
  CHECK(c.watermark_at(1000) == idle_clock::kNone);
  CHECK(c.watermark_at(11'000) == idle_clock::kNone);  // exactly the timeout: not more than it
  CHECK(c.watermark_at(11'001) == 900);
  CHECK(c.watermark_at(31'000) == 899 + 20'000);
  CHECK(c.watermark_at(500) == idle_clock::kNone);  // timestamps going backwards move nothing
  CHECK(c.idle_since() == 11'000);
  // no overflow at the edges
  c.record(INT64_MIN + 5, INT64_MAX - 3);
  CHECK(c.watermark_at(INT64_MAX) == INT64_MAX);
  c.record(INT64_MAX - 1, 0);
  CHECK(c.watermark_at(INT64_MIN) == idle_clock::kNone);
  CHECK(c.idle_since() == idle_clock::kNone);
  c.restore(2000, 1500);
  CHECK(c.last_timestamp() == 2000);
  CHECK(c.watermark_after_last() == 1500);
  CHECK(c.watermark_at(12'500) == 2000);
}

namespace {

struct run {
  std::vector<std::string> out, late;
  std::unique_ptr<session_task> task;
  explicit run(int64_t idle_timeout) {
    session_task_options o;
    o.fields = {"k", "t", "", "", ""};
    o.gap = 1000;
    o.max_out_of_orderness = 100;
    o.idle_timeout = idle_timeout;
    task = std::make_unique<session_task>(
        o, [this](std::string_view key, int64_t ts, std::string_view) { out.push_back(std::string(key) + "@" + std::to_string(ts)); },
        [this](std::string_view line, const std::string*) { late.emplace_back(line); });
  }
  // An event at event time t in a record stamped ts.
  void feed(const std::string& key, int64_t t, int64_t ts) {
    std::string line = R"({"k":")" + key + R"(","t":)" + std::to_string(t) + "}";
    std::string padded = line + std::string(64, ' ');
    task->before_record(ts);
    task->feed(std::string_view(padded.data(), line.size()));
    task->after_record(ts);
  }
};

}  // namespace

TEST_CASE("session task: a quiet input closes its sessions at gap + out-of-orderness + timeout after the last record") {
  run r(5000);
  r.feed("a", 10'000, 10'000);  // watermark 9899; a's window [10000, 11000) fires at 10999
  CHECK_FALSE(r.task->advance_idle(15'000));         // not yet quiet for longer than 5 s
  CHECK(r.task->advance_idle(16'000));               // wm 9899 + 1000 = 10899: moves, fires nothing
  CHECK(r.out.empty());
  CHECK(r.task->watermark() == 10'899);
  CHECK(r.task->advance_idle(16'100));  // 10999: due at 10000 + gap + out-of-orderness + timeout
  REQUIRE(r.out.size() == 1);
  CHECK(r.out[0] == "a@10999");
  // The next record (stamped after that look at the clock) is judged by the
  // rule from the last one: the same as a replay that never saw the quiet time.
  r.feed("a", 10'050, 16'200);  // would have joined a's fired session: late
  CHECK(r.late.size() == 1);
  CHECK(r.out.size() == 1);

  // The same input replayed, with no wall clock steps in between.
  run replay(5000);
  replay.feed("a", 10'000, 10'000);
  replay.feed("a", 10'050, 16'200);
  CHECK(replay.out == std::vector<std::string>{"a@10999"});
  CHECK(replay.late.size() == 1);

  // Off: the session stays open and the event joins it.
  run off(0);
  off.feed("a", 10'000, 10'000);
  CHECK_FALSE(off.task->advance_idle(1'000'000));
  off.feed("a", 10'050, 16'200);  // joins the open session
  CHECK(off.out.empty());
  CHECK(off.late.empty());
}

TEST_CASE("session task: records closer together than the timeout move nothing, however their event times lag") {
  run r(5000);
  for (int i = 0; i < 10; i++) r.feed("k" + std::to_string(i), 1000, 1000 + i * 4000);  // 4 s apart
  CHECK(r.task->watermark() == 899);
  CHECK(r.out.empty());
  r.feed("z", 1000, 1000 + 9 * 4000 + 7000);  // 7 s after the last: 2 s past the timeout
  CHECK(r.task->watermark() == 899 + 2000);
  CHECK(r.out.size() == 10);  // every [1000, 2000) window fired before z was judged
  CHECK(r.late.size() == 1);  // and z, at 1000, is late against watermark 2899
}
