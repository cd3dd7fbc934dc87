// Session windows against Flink's own WindowOperatorTest session scenarios
// (translated: explicit watermarks between events, values summed), plus
// boundary cases derived from Flink's rules.
#include <doctest.h>

#include <string>
#include <vector>

#include "processor/session_windows.h"
#include "processor/watermark.h"

using namespace kappa;

namespace {

struct out {
  std::string key;
  int64_t start, end, count, sum;
  bool late_update;
};

// Outputs as text, so that a failing CHECK shows them.
std::string render(const std::vector<out>& v) {
  std::string s;
  for (const auto& o : v)
    s += o.key + " [" + std::to_string(o.start) + "," + std::to_string(o.end) + ") count " +
         std::to_string(o.count) + " sum " + std::to_string(o.sum) + (o.late_update ? " late_update" : "") + "; ";
  return s;
}

struct driver {
  session_windows w;
  std::vector<out> outs;
  std::vector<int64_t> late;  // times of late events

  driver(int64_t gap, int64_t lateness) : w(session_windows::options{gap, lateness}) {}

  void collect(std::vector<fired_session>& f) {
    for (auto& s : f) outs.push_back({s.key, s.start, s.end, s.agg.count, s.agg.sum_int, s.late_update});
    f.clear();
  }
  void event(const std::string& key, int64_t ts, int64_t v = 1) {
    session_event e;
    e.key = key;
    e.time = ts;
    e.has_sum = true;
    e.sum_int = v;
    std::vector<fired_session> f;
    if (!w.add(e, &f)) late.push_back(ts);
    collect(f);
  }
  void wm(int64_t t) {
    std::vector<fired_session> f;
    w.advance_watermark(t, &f);
    collect(f);
  }
};

// Steps 1-9 of Flink's testSideOutputDueToLatenessSession* tests.
void lateness_prefix(driver& d) {
  d.event("key2", 1000);
  d.wm(1999);
  d.event("key2", 2000);
  d.wm(4998);
  d.event("key2", 4500);
  d.event("key2", 8500);
  d.wm(7400);
  d.event("key2", 7000);  // bridges [1000,7500) and [8500,11500)
  d.wm(11501);
}

}  // namespace

TEST_CASE("Flink testSessionWindows: gap 3000, merging, a 1 ms gap keeps sessions apart") {
  driver d(3000, 0);
  d.event("key2", 0, 1);
  d.event("key2", 1000, 2);
  d.event("key2", 2500, 3);
  d.event("key1", 10, 1);
  d.event("key1", 1000, 2);
  d.event("key1", 2500, 3);
  d.event("key2", 5501, 4);
  d.event("key2", 6000, 5);
  d.event("key2", 6000, 5);
  d.event("key2", 6050, 6);
  CHECK(d.outs.empty());
  d.wm(12000);
  d.event("key2", 15000, 10);
  d.event("key2", 15000, 20);
  d.wm(17999);
  std::vector<out> want = {{"key1", 10, 5500, 3, 6, false},
                           {"key2", 0, 5500, 3, 6, false},
                           {"key2", 5501, 9050, 4, 20, false},
                           {"key2", 15000, 18000, 2, 30, false}};
  CHECK(render(d.outs) == render(want));
  CHECK(d.late.empty());
  CHECK(d.w.open_windows() == 0);
}

TEST_CASE("Flink testSideOutputDueToLatenessSessionZeroLateness: only a window past lateness is late") {
  driver d(3000, 0);
  lateness_prefix(d);
  d.event("key2", 11600);
  d.wm(14600);
  d.event("key2", 10000);  // its own window [10000,13000) is past the watermark, nothing to join
  d.event("key2", 10100);  // late too: late windows never merge with each other
  d.event("key2", 14500);  // before the watermark, but [14500,17500) is not late
  d.wm(20000);
  d.wm(100000);
  std::vector<out> want = {{"key2", 1000, 11500, 5, 5, false},
                           {"key2", 11600, 14600, 1, 1, false},
                           {"key2", 14500, 17500, 1, 1, false}};
  CHECK(render(d.outs) == render(want));
  CHECK(d.late == std::vector<int64_t>{10000, 10100});
}

TEST_CASE("Flink testNotSideOutputDueToLatenessSessionWithLateness: a late event joining a live window") {
  driver d(3000, 10);
  lateness_prefix(d);
  d.event("key2", 11600);  // does not touch [1000,11500)
  d.wm(14600);             // [1000,11500) dropped at 11509; [11600,14600) fires, kept until 14609
  d.event("key2", 10000);  // touches the retained window: merged and fired again at once
  d.event("key2", 14500);  // extends it past the watermark: fires later
  d.wm(20000);
  d.wm(100000);
  std::vector<out> want = {{"key2", 1000, 11500, 5, 5, false},
                           {"key2", 11600, 14600, 1, 1, false},
                           {"key2", 10000, 14600, 2, 2, true},
                           {"key2", 10000, 17500, 3, 3, true}};
  CHECK(render(d.outs) == render(want));
  CHECK(d.late.empty());
}

TEST_CASE("Flink testNotSideOutputDueToLatenessSessionWithHugeLateness: a late event bridges two fired sessions") {
  driver d(3000, 10000);
  lateness_prefix(d);
  d.event("key2", 11600);
  d.wm(14600);
  d.event("key2", 10000);
  d.event("key2", 14500);
  d.wm(20000);
  d.wm(100000);
  std::vector<out> want = {{"key2", 1000, 11500, 5, 5, false},
                           {"key2", 11600, 14600, 1, 1, false},
                           {"key2", 1000, 14600, 7, 7, true},
                           {"key2", 1000, 17500, 8, 8, true}};
  CHECK(render(d.outs) == render(want));
  CHECK(d.late.empty());
  CHECK(d.w.open_windows() == 0);
}

TEST_CASE("Flink testCleanupTimerWithEmptyListStateForSessionWindows: the lateness cleanup emits nothing") {
  driver d(3000, 10);
  d.event("key2", 1000);
  d.wm(4998);
  CHECK(render(d.outs) == render({{"key2", 1000, 4000, 1, 1, false}}));
  d.wm(14600);
  CHECK(d.outs.size() == 1);
  CHECK(d.w.open_windows() == 0);
}

TEST_CASE("touching windows merge; one more millisecond does not") {
  driver d(10, 0);
  d.event("a", 0);
  d.event("a", 10);  // [10,20) touches [0,10)
  d.event("b", 0);
  d.event("b", 11);  // [11,21) does not touch [0,10)
  d.wm(INT64_MAX);
  std::vector<out> want = {{"b", 0, 10, 1, 1, false}, {"a", 0, 20, 2, 2, false}, {"b", 11, 21, 1, 1, false}};
  CHECK(render(d.outs) == render(want));
}

TEST_CASE("one watermark step fires in (window_end, key) order") {
  driver d(10, 0);
  d.event("c", 5);
  d.event("b", 5);
  d.event("a", 7);
  d.event("a", 0);  // a: [0,17)
  d.wm(100);
  std::vector<out> want = {{"b", 5, 15, 1, 1, false}, {"c", 5, 15, 1, 1, false}, {"a", 0, 17, 2, 2, false}};
  CHECK(render(d.outs) == render(want));
}

TEST_CASE("allowed lateness keeps a fired window to extend: a later firing is a late update") {
  driver d(10, 100);  // derived from Flink's rules (notes §3.4)
  d.event("k", 0);
  d.wm(9);
  d.event("k", 10);  // on time, but touches the retained [0,10)
  d.wm(19);
  std::vector<out> want = {{"k", 0, 10, 1, 1, false}, {"k", 0, 20, 2, 2, true}};
  CHECK(render(d.outs) == render(want));
  driver z(10, 0);  // without lateness the fired window is gone: a new session
  z.event("k", 0);
  z.wm(9);
  z.event("k", 10);
  z.wm(19);
  std::vector<out> want0 = {{"k", 0, 10, 1, 1, false}, {"k", 10, 20, 1, 1, false}};
  CHECK(render(z.outs) == render(want0));
}

TEST_CASE("a new window within lateness fires at once and supersedes nothing") {
  driver d(10, 100);
  d.wm(50);
  d.event("k", 30);  // [30,40): end-1 <= 50 < end-1+100
  CHECK(render(d.outs) == render({{"k", 30, 40, 1, 1, false}}));
  d.event("k", 0);   // [0,10): cleanup 109 > 50, not late; does not touch [30,40)
  CHECK(d.outs.size() == 2);
  d.wm(200);
  CHECK(d.w.open_windows() == 0);
  CHECK(d.outs.size() == 2);  // nothing more: both fired already
}

TEST_CASE("aggregates: count-by values and sums, integers stay integers until a float arrives") {
  session_windows w({100, 0});
  std::vector<fired_session> f;
  auto ev = [&](int64_t ts, const char* type, int64_t n) {
    session_event e;
    e.key = "u";
    e.time = ts;
    e.has_count_value = true;
    e.count_value = type;
    e.has_sum = true;
    e.sum_int = n;
    CHECK(w.add(e, &f));
  };
  ev(0, "view", 2);
  ev(50, "click", 3);
  ev(60, "view", 4);
  w.advance_watermark(INT64_MAX, &f);
  REQUIRE(f.size() == 1);
  CHECK(f[0].agg.count == 3);
  CHECK(f[0].agg.counts == std::vector<std::pair<std::string, int64_t>>{{"view", 2}, {"click", 1}});
  CHECK_FALSE(f[0].agg.sum_is_float);
  CHECK(f[0].agg.sum_int == 9);
  session_aggregate a = f[0].agg, b;
  b.sum_is_float = true;
  b.sum_float = 0.5;
  a.merge(b);
  CHECK(a.sum_is_float);
  CHECK(a.sum_float == doctest::Approx(9.5));
}


TEST_CASE("bounded out-of-orderness watermark: max seen - bound - 1, never backwards") {
  watermark_tracker w(30000);
  CHECK(w.current() == INT64_MIN);
  w.observe(100000);
  CHECK(w.current() == 69999);
  w.observe(50000);  // out of order: the watermark stays
  CHECK(w.current() == 69999);
  w.punctuate(80000);
  CHECK(w.current() == 80000);
  w.punctuate(10);  // never backwards
  CHECK(w.current() == 80000);
  w.observe(200000);
  CHECK(w.current() == 169999);
  watermark_tracker zero(0);
  zero.observe(INT64_MIN);  // no overflow at the edge
  CHECK(zero.current() == INT64_MIN);
}
