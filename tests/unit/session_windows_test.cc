// Session windows against Flink's own WindowOperatorTest session scenarios
// (translated: explicit watermarks between events, values summed), plus
// boundary cases derived from Flink's rules.
#include <doctest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "processor/count_table.h"
#include "processor/key_table.h"
#include "processor/session_events.h"
#include "processor/session_json.h"
#include "processor/session_windows.h"
#include "processor/timer_queue.h"
#include "processor/watermark.h"
#include "util/json_string.h"

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
    for (auto& s : f) outs.push_back({std::string(s.key), s.start, s.end, s.count, s.sum_int, s.late_update});
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

// Flink's testSessionWindows in two parts: it snapshots and restores the
// operator between them.
static void session_windows_before_snapshot(driver& d) {
  d.event("key2", 0, 1);
  d.event("key2", 1000, 2);
  d.event("key2", 2500, 3);
  d.event("key1", 10, 1);
  d.event("key1", 1000, 2);
}

static void session_windows_after_snapshot(driver& d) {
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

TEST_CASE("Flink testSessionWindows: gap 3000, merging, a 1 ms gap keeps sessions apart") {
  driver d(3000, 0);
  session_windows_before_snapshot(d);
  session_windows_after_snapshot(d);
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
  CHECK(f[0].count == 3);
  std::vector<std::pair<std::string, int64_t>> counts;
  for (const auto& c : f[0].counts) counts.emplace_back(std::string(c.value), c.count);
  CHECK(counts == std::vector<std::pair<std::string, int64_t>>{{"click", 1}, {"view", 2}});  // byte order
  CHECK_FALSE(f[0].sum_is_float);
  CHECK(f[0].sum_int == 9);
  // The same session, then a float arrives: the sum turns float.
  session_windows w2({100, 0});
  f.clear();
  for (int64_t n : {2, 3, 4}) {
    session_event e;
    e.key = "u";
    e.time = n * 10;
    e.has_sum = true;
    e.sum_int = n;
    CHECK(w2.add(e, &f));
  }
  session_event e;
  e.key = "u";
  e.time = 60;
  e.has_sum = true;
  e.sum_is_float = true;
  e.sum_float = 0.5;
  CHECK(w2.add(e, &f));
  w2.advance_watermark(INT64_MAX, &f);
  REQUIRE(f.size() == 1);
  CHECK(f[0].sum_is_float);
  CHECK(f[0].sum_float == doctest::Approx(9.5));
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

namespace {

// A checkpoint store as the job keeps it: key -> encoding, plus the watermark.
struct store {
  std::map<std::string, std::string> keys;
  int64_t wm = INT64_MIN;
  void checkpoint(session_windows& w) {
    w.take_changes([&](const std::string& key, const std::string* enc) {
      if (enc)
        keys[key] = *enc;
      else
        keys.erase(key);
    });
    wm = w.watermark();
  }
  void restore_into(session_windows& w) const {
    w.restore_watermark(wm);
    for (const auto& [k, v] : keys) REQUIRE(w.restore(k, v).ok());
  }
};

}  // namespace

TEST_CASE("Flink testSessionWindows with a checkpoint and restore in the middle gives the same output") {
  driver d(3000, 0);
  session_windows_before_snapshot(d);
  store st;
  st.checkpoint(d.w);
  driver r(3000, 0);  // a new process
  st.restore_into(r.w);
  CHECK(r.w.open_windows() == 2);
  session_windows_after_snapshot(r);
}

TEST_CASE("a session longer than 2^32 ms keeps its start, through merges, a checkpoint and a restore") {
  // A window keeps its start as a 32-bit length; longer ones keep it aside.
  const int64_t day = 86400000, gap = 30 * day;
  driver d(gap, 0);
  d.event("long", 1000);
  d.event("long", 1000 + 25 * day);
  d.event("short", 1000 + 40 * day);
  d.event("long", 1000 + 50 * day);  // [1000, 1000 + 80 days): 6.9e9 ms
  d.event("long", 500);              // extends the start of the long window
  store st;
  st.checkpoint(d.w);
  driver r(gap, 0);
  st.restore_into(r.w);
  r.event("long", 1000 + 80 * day);  // touches its end: [500, 1000 + 110 days)
  r.wm(INT64_MAX);
  std::vector<out> want = {{"short", 1000 + 40 * day, 1000 + 70 * day, 1, 1, false},
                           {"long", 500, 1000 + 110 * day, 5, 5, false}};
  CHECK(render(r.outs) == render(want));
  d.wm(INT64_MAX);
  std::vector<out> want_d = {{"short", 1000 + 40 * day, 1000 + 70 * day, 1, 1, false},
                             {"long", 500, 1000 + 80 * day, 4, 4, false}};
  CHECK(render(d.outs) == render(want_d));
}

TEST_CASE("random events and watermarks: restoring from incremental checkpoints changes nothing") {
  for (uint32_t seed = 1; seed <= 30; seed++) {
    CAPTURE(seed);
    uint32_t x = seed * 2654435761u;
    auto rnd = [&](uint32_t n) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      return x % n;
    };
    int64_t gap = 1 + rnd(50), lateness = rnd(3) == 0 ? 0 : rnd(200);
    driver straight(gap, lateness), resumed(gap, lateness);
    store st;
    std::vector<std::function<void(driver&)>> ops;
    int64_t t = 0;
    for (int i = 0; i < 400; i++) {
      if (rnd(5) == 0) {
        t += rnd(60);
        int64_t wm = t - 40;
        ops.push_back([wm](driver& d) { d.wm(wm); });
      } else {
        std::string key = "k" + std::to_string(rnd(6));
        int64_t ts = t + static_cast<int64_t>(rnd(120)) - 80;
        int64_t v = rnd(10);
        ops.push_back([key, ts, v](driver& d) { d.event(key, ts, v); });
      }
    }
    ops.push_back([](driver& d) { d.wm(INT64_MAX); });
    for (auto& op : ops) op(straight);
    // The same run, checkpointing now and then and now and then restarting
    // from the last checkpoint in a fresh operator.
    auto live = std::make_unique<driver>(gap, lateness);
    for (auto& op : ops) {
      op(*live);
      if (rnd(10) == 0) st.checkpoint(live->w);
      if (rnd(25) == 0) {
        st.checkpoint(live->w);
        auto next = std::make_unique<driver>(gap, lateness);
        st.restore_into(next->w);
        CHECK(next->w.open_windows() == live->w.open_windows());
        next->outs = std::move(live->outs);
        next->late = std::move(live->late);
        live = std::move(next);
      }
    }
    CHECK(render(live->outs) == render(straight.outs));
    CHECK(live->late == straight.late);
    CHECK_FALSE(straight.outs.empty());
  }
}

TEST_CASE("damaged checkpointed state is refused, naming the key") {
  driver d(10, 0);
  d.event("user-1", 5, 3);
  store st;
  st.checkpoint(d.w);
  REQUIRE(st.keys.count("user-1"));
  std::string enc = st.keys["user-1"];
  for (size_t i = 0; i < enc.size(); i++) {
    std::string bad = enc;
    bad[i] ^= 0x20;
    session_windows w({10, 0});
    Status s = w.restore("user-1", bad);
    CHECK_FALSE(s.ok());
    CHECK(s.message().find("user-1") != std::string::npos);
  }
  session_windows w({10, 0});
  CHECK_FALSE(w.restore("user-1", enc.substr(0, enc.size() - 1)).ok());
  CHECK(w.restore("user-1", enc).ok());
  CHECK(w.open_windows() == 1);
}

TEST_CASE("session record values are SPEC's JSON, counts in byte order, integer sums stay integers") {
  fired_session s;
  s.key = "user \"7\"";
  s.start = 1000;
  s.end = 5500;
  s.count = 3;
  std::vector<value_count> counts = {{"view", 2}, {"click", 1}};
  s.counts = counts;
  s.sum_int = 42;
  std::string out;
  append_session_json(s, {}, &out);
  CHECK(out == R"({"key":"user \"7\"","window_start":1000,"window_end":5500,"count":3,"late_update":false})");
  out.clear();
  s.late_update = true;
  append_session_json(s, {true, true}, &out);
  CHECK(out == R"({"key":"user \"7\"","window_start":1000,"window_end":5500,"count":3,)"
               R"("counts":{"click":1,"view":2},"sum":42,"late_update":true})");
  out.clear();
  s.sum_is_float = true;
  s.sum_float = 0.1 + 0.2;
  append_session_json(s, {false, true}, &out);
  CHECK(out.find(R"("sum":0.30000000000000004,)") != std::string::npos);
  // A float sum reads as a float even when it is whole, like Java's Double.toString.
  for (auto [v, text] : std::vector<std::pair<double, std::string>>{
           {3.0, "3.0"}, {100000.0, "100000.0"}, {-2.5, "-2.5"}, {0.0, "0.0"}, {1e7, "1e+07"}, {1.5e-4, "1.5e-04"}}) {
    out.clear();
    s.sum_float = v;
    append_session_json(s, {false, true}, &out);
    CHECK(out.find("\"sum\":" + text + ",") != std::string::npos);
  }
  // A plain key and values (written straight into the string), at the
  // widest integers, appended after what out already holds; and the same
  // with counts out of byte order (sorted first).
  fired_session p;
  p.key = "u1";
  p.start = INT64_MIN;
  p.end = INT64_MAX;
  p.count = INT64_MAX;
  std::vector<value_count> sorted_counts = {{"a", INT64_MIN}, {"b", 1}};
  p.counts = sorted_counts;
  p.sum_int = INT64_MIN;
  const std::string want = R"({"key":"u1","window_start":-9223372036854775808,"window_end":9223372036854775807,)"
                           R"("count":9223372036854775807,"counts":{"a":-9223372036854775808,"b":1},)"
                           R"("sum":-9223372036854775808,"late_update":false})";
  out = "x";
  append_session_json(p, {true, true}, &out);
  CHECK(out == "x" + want);
  std::vector<value_count> unsorted_counts = {{"b", 1}, {"a", INT64_MIN}};
  p.counts = unsorted_counts;
  out.clear();
  append_session_json(p, {true, true}, &out);
  CHECK(out == want);
}

namespace {

// A line with simdjson's padding after it, as the log reader provides.
struct padded {
  std::string buf;
  explicit padded(std::string_view s) : buf(s) { buf.append(64, ' '); }
  std::string_view line() const { return std::string_view(buf.data(), buf.size() - 64); }
};

}  // namespace

TEST_CASE("session events from JSON lines: key, time, count-by, sum, punctuation, malformed") {
  session_event_parser p({"user_id", "ts", "type", "amount", "wm"});
  session_event e;
  int64_t wm = 0;
  std::string why;
  padded a(R"({"ts":1700000000123,"user_id":"u\"1","type":"view","amount":3,"other":[1,{"x":2}]})");
  REQUIRE(p.parse(a.line(), &e, &wm, &why) == session_event_parser::kind::event);
  CHECK(e.key == "u\"1");
  CHECK(e.time == 1700000000123);
  CHECK((e.has_count_value && e.count_value == "view"));
  CHECK((e.has_sum && !e.sum_is_float && e.sum_int == 3));
  padded b(R"({"user_id":42,"ts":5,"amount":2.5,"type":7})");
  REQUIRE(p.parse(b.line(), &e, &wm, &why) == session_event_parser::kind::event);
  CHECK(e.key == "42");
  CHECK(e.count_value == "7");
  CHECK((e.sum_is_float && e.sum_float == 2.5));
  padded c(R"({"wm":1000})");
  CHECK(p.parse(c.line(), &e, &wm, &why) == session_event_parser::kind::punctuation);
  CHECK(wm == 1000);
  padded d(R"({"user_id":"x"})");
  CHECK(p.parse(d.line(), &e, &wm, &why) == session_event_parser::kind::malformed);
  CHECK(why == "field 'ts' is missing");
  padded f(R"({"user_id":"x","ts":"yesterday"})");
  CHECK(p.parse(f.line(), &e, &wm, &why) == session_event_parser::kind::malformed);
  CHECK(why.find("'ts'") != std::string::npos);
  padded g(R"({"user_id":{"a":1},"ts":1})");
  CHECK(p.parse(g.line(), &e, &wm, &why) == session_event_parser::kind::malformed);
  CHECK(why.find("'user_id'") != std::string::npos);
  padded h(R"(not json)");
  CHECK(p.parse(h.line(), &e, &wm, &why) == session_event_parser::kind::malformed);
  padded i(R"({"user_id":"x","ts":-5})");
  CHECK(p.parse(i.line(), &e, &wm, &why) == session_event_parser::kind::malformed);
  padded j(R"({"user_id":"x","ts":1,"amount":"many"})");
  CHECK(p.parse(j.line(), &e, &wm, &why) == session_event_parser::kind::malformed);
  CHECK(why.find("'amount'") != std::string::npos);
}

namespace {

// A deliberately simple model of the operator, written from Flink's rules
// (notes §0) and nothing else: per key a vector of windows sorted by start.
struct model {
  struct window {
    int64_t start, end;
    bool pending = false, emitted = false;
    int64_t count = 0;
    std::map<std::string, int64_t> counts;
    bool sum_is_float = false;
    int64_t sum_int = 0;
    double sum_float = 0;
  };
  int64_t gap, lateness, wm = INT64_MIN;
  std::map<std::string, std::vector<window>> keys;
  std::vector<std::string> outs;  // session JSON, with the key

  model(int64_t g, int64_t l) : gap(g), lateness(l) {}

  int64_t cleanup(int64_t end) const {
    return end - 1 > INT64_MAX - lateness ? INT64_MAX : end - 1 + lateness;
  }
  static void add_sum(window& m, bool is_float, int64_t i, double f) {
    if (is_float && !m.sum_is_float) {
      m.sum_float = static_cast<double>(m.sum_int);
      m.sum_is_float = true;
    }
    if (m.sum_is_float)
      m.sum_float += is_float ? f : static_cast<double>(i);
    else
      m.sum_int = static_cast<int64_t>(static_cast<uint64_t>(m.sum_int) + static_cast<uint64_t>(i));
  }
  void emit(const std::string& key, const window& w, bool late_update) {
    std::vector<value_count> counts;
    for (const auto& [v, n] : w.counts) counts.push_back({v, n});
    fired_session f;
    f.key = key;
    f.start = w.start;
    f.end = w.end;
    f.count = w.count;
    f.counts = counts;
    f.sum_int = w.sum_int;
    f.sum_float = w.sum_float;
    f.sum_is_float = w.sum_is_float;
    f.late_update = late_update;
    std::string s;
    append_session_json(f, {true, true}, &s);
    outs.push_back(s);
  }
  bool add(const session_event& e) {
    std::string key(e.key);
    int64_t end = e.time > INT64_MAX - gap ? INT64_MAX : e.time + gap;
    auto& ws = keys[key];
    window m;
    m.start = e.time;
    m.end = end;
    std::vector<window> kept;
    bool joined = false;
    for (const auto& w : ws) {
      if (w.start <= end && w.end >= e.time) {  // touching counts
        joined = true;
        m.start = std::min(m.start, w.start);
        m.end = std::max(m.end, w.end);
        m.emitted |= w.emitted;
        m.count += w.count;
        for (const auto& [v, n] : w.counts) m.counts[v] += n;
        add_sum(m, w.sum_is_float, w.sum_int, w.sum_float);
      } else {
        kept.push_back(w);
      }
    }
    if (!joined && cleanup(m.end) <= wm) {
      if (ws.empty()) keys.erase(key);
      return false;
    }
    m.count++;
    if (e.has_count_value) m.counts[std::string(e.count_value)]++;
    if (e.has_sum) add_sum(m, e.sum_is_float, e.sum_int, e.sum_float);
    if (m.end - 1 <= wm) {
      emit(key, m, m.emitted);
      m.emitted = true;
    } else {
      m.pending = true;
    }
    kept.push_back(m);
    std::sort(kept.begin(), kept.end(), [](const window& a, const window& b) { return a.start < b.start; });
    ws = kept;
    return true;
  }
  void advance(int64_t to) {
    if (to <= wm) return;
    wm = to;
    std::vector<std::pair<std::pair<int64_t, std::string>, window*>> due;
    for (auto& [k, ws] : keys)
      for (auto& w : ws)
        if (w.pending && w.end - 1 <= wm) due.push_back({{w.end, k}, &w});
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [order, w] : due) {
      emit(order.second, *w, w->emitted);
      w->pending = false;
      w->emitted = true;
    }
    for (auto it = keys.begin(); it != keys.end();) {
      auto& ws = it->second;
      ws.erase(std::remove_if(ws.begin(), ws.end(), [&](const window& w) { return cleanup(w.end) <= wm; }), ws.end());
      it = ws.empty() ? keys.erase(it) : std::next(it);
    }
  }
  size_t open() const {
    size_t n = 0;
    for (const auto& [k, ws] : keys) n += ws.size();
    return n;
  }
};

}  // namespace

TEST_CASE("random runs: session_windows gives exactly the simple model's output, through checkpoints and restores") {
  for (uint32_t seed = 1; seed <= 400; seed++) {
    CAPTURE(seed);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull;
    auto rnd = [&](uint64_t n) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return n ? x % n : 0;
    };
    int64_t gap = 1 + static_cast<int64_t>(rnd(rnd(4) == 0 ? 5 : 60));
    int64_t lateness = 0;
    switch (rnd(5)) {
      case 0: break;
      case 1: lateness = static_cast<int64_t>(rnd(20)); break;
      case 2: lateness = static_cast<int64_t>(rnd(300)); break;
      case 3: lateness = INT64_MAX - static_cast<int64_t>(rnd(10)); break;  // cleanup saturates
      default: lateness = 1 + static_cast<int64_t>(rnd(3));
    }
    int nkeys = 1 + static_cast<int>(rnd(rnd(3) == 0 ? 3 : 40));
    std::vector<std::string> keys;
    for (int i = 0; i < nkeys; i++) {
      // Short keys live in their record, long ones in the arena; shared
      // prefixes and the empty key test the byte order.
      switch (rnd(4)) {
        case 0: keys.push_back("k" + std::to_string(i)); break;
        case 1: keys.push_back("a-rather-long-key-" + std::to_string(i)); break;
        case 2: keys.push_back(std::string(static_cast<size_t>(i % 9), 'z') + std::to_string(i)); break;
        default: keys.push_back(i == 0 ? std::string() : std::string(1, static_cast<char>('A' + i % 50)) + "\xc3\xa9");
      }
    }
    int nvalues = rnd(3) == 0 ? 40 : 1 + static_cast<int>(rnd(5));  // > 15 values: sparse counts
    bool float_sums = rnd(3) == 0;
    int64_t base = rnd(6) == 0 ? INT64_MAX - 3000 : static_cast<int64_t>(rnd(200)) - 100;  // saturating ends
    std::unique_ptr<session_windows> w = std::make_unique<session_windows>(session_windows::options{gap, lateness});
    model m(gap, lateness);
    store st;
    std::vector<std::string> outs;
    std::vector<fired_session> f;
    auto collect = [&] {
      for (const auto& s : f) {
        std::string j;
        append_session_json(s, {true, true}, &j);
        outs.push_back(j);
      }
      f.clear();
    };
    // Times near INT64_MAX stop short of it (ends saturate; the times do
    // not wrap). An event at INT64_MAX itself would make an empty window,
    // [MAX, MAX), which restore() refuses, as it always has.
    auto clamp = [](__int128 v) { return static_cast<int64_t>(std::min<__int128>(v, INT64_MAX - 1)); };
    int64_t t = 0, wm = INT64_MIN;
    int steps = 200 + static_cast<int>(rnd(600));
    for (int i = 0; i < steps; i++) {
      uint64_t op = rnd(100);
      if (op < 18) {
        t += static_cast<int64_t>(rnd(3 * static_cast<uint64_t>(gap) + 2));
        wm = std::max(wm, clamp(static_cast<__int128>(base) + t - static_cast<int64_t>(rnd(2 * static_cast<uint64_t>(gap) + 1))));
        if (rnd(50) == 0) wm = INT64_MAX;
        m.advance(wm);
        w->advance_watermark(wm, &f);
        collect();
      } else if (op < 21) {
        st.checkpoint(*w);
        if (rnd(2)) {
          auto next = std::make_unique<session_windows>(session_windows::options{gap, lateness});
          st.restore_into(*next);
          w = std::move(next);
        }
      } else {
        session_event e;
        e.key = keys[rnd(keys.size())];
        int64_t spread = static_cast<int64_t>(rnd(4 * static_cast<uint64_t>(gap) + 4));
        e.time = clamp(static_cast<__int128>(base) + t - spread + static_cast<int64_t>(rnd(static_cast<uint64_t>(gap) + 2)));
        std::string value;
        if (rnd(5)) {
          value = "v" + std::to_string(rnd(static_cast<uint64_t>(nvalues)));
          e.has_count_value = true;
          e.count_value = value;
        }
        if (rnd(3)) {
          e.has_sum = true;
          if (float_sums && rnd(2)) {
            e.sum_is_float = true;
            e.sum_float = static_cast<double>(rnd(1000)) / 7.0 - 50;
          } else {
            e.sum_int = static_cast<int64_t>(rnd(100)) - 30;
          }
        }
        bool want = m.add(e);
        bool got = w->add(e, &f);
        REQUIRE(got == want);
        collect();
      }
      REQUIRE(w->open_windows() == m.open());
      REQUIRE(outs.size() == m.outs.size());
    }
    m.advance(INT64_MAX);
    w->advance_watermark(INT64_MAX, &f);
    collect();
    CHECK(w->open_windows() == 0);
    REQUIRE(outs.size() == m.outs.size());
    for (size_t i = 0; i < outs.size(); i++) REQUIRE(outs[i] == m.outs[i]);
  }
}

TEST_CASE("session events: the fast reader of flat lines agrees with simdjson on every line it takes") {
  // A space after '{' sends a line to simdjson (the fast reader takes only
  // compact lines) without changing what it means, so each generated line
  // is parsed both ways and the results must be the same.
  session_event_parser p({"user_id", "ts", "type", "amount", "wm"});
  session_event_parser q({"user_id", "ts", "type", "amount", "wm"});
  uint64_t x = 88172645463325252ull;
  auto rnd = [&](uint64_t n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % n;
  };
  const char* names[] = {"user_id", "ts", "type", "amount", "user_id", "ts", "other", "user", "ts2", "", "wm"};
  const char* strings[] = {"u1", "", "view", "x y", "7", "-3", "a\\\"b", "\xc3\xa9t\xc3\xa9", "tab\there", "~!@#"};
  const char* numbers[] = {"0", "5", "-5", "1700000000123", "-0", "007", "1.5", "1e3", "123456789012345678",
                           "1234567890123456789", "99999999999999999999", "9999999999999999999",
                           "-9223372036854775808", "true", "null", "[1]", "{\"a\":1}"};
  int fast_eligible = 0;
  for (int i = 0; i < 20000; i++) {
    std::string line = "{";
    int n = static_cast<int>(rnd(7));
    for (int k = 0; k < n; k++) {
      if (k) line += ",";
      line += "\"" + std::string(names[rnd(rnd(4) ? 10 : 11)]) + "\":";
      if (rnd(2))
        line += "\"" + std::string(strings[rnd(10)]) + "\"";
      else
        line += numbers[rnd(17)];
    }
    line += "}";
    if (rnd(8) == 0 && !line.empty()) line[rnd(line.size())] = "{}\":,x\\ 0\x01"[rnd(10)];  // damage
    if (rnd(20) == 0) line.resize(rnd(line.size() + 1));
    if (rnd(20) == 0) line += "x} ,\"1"[rnd(6)];  // after the object
    std::string spaced = line.empty() || line[0] != '{' ? " " + line : "{ " + line.substr(1);
    padded a(line), b(spaced);
    session_event e1, e2;
    int64_t wm1 = 0, wm2 = 0;
    std::string why1, why2;
    CAPTURE(line);
    auto k1 = p.parse(a.line(), &e1, &wm1, &why1);
    auto k2 = q.parse(b.line(), &e2, &wm2, &why2);
    if (k1 == session_event_parser::kind::malformed && why1.rfind("malformed JSON", 0) == 0) continue;  // simdjson's own
    if (k1 == session_event_parser::kind::event) fast_eligible++;
    REQUIRE(k1 == k2);
    switch (k1) {
      case session_event_parser::kind::event:
        CHECK(e1.key == e2.key);
        CHECK(e1.time == e2.time);
        CHECK(e1.has_count_value == e2.has_count_value);
        CHECK(e1.count_value == e2.count_value);
        CHECK(e1.has_sum == e2.has_sum);
        CHECK(e1.sum_is_float == e2.sum_is_float);
        CHECK(e1.sum_int == e2.sum_int);
        CHECK(e1.sum_float == e2.sum_float);
        break;
      case session_event_parser::kind::punctuation:
        CHECK(wm1 == wm2);
        break;
      case session_event_parser::kind::malformed:
        CHECK(why1 == why2);
        break;
    }
  }
  CHECK(fast_eligible > 250);  // events read both ways (damaged lines are mostly rejected)
}

// The tables under session_windows, against plain std::map models.

TEST_CASE("key table: random inserts, finds and erases agree with a map; slots move, ids and keys do not") {
  key_table t;
  std::map<std::string, uint32_t> model;  // key -> id
  uint64_t x = 12345;
  auto rnd = [&](uint64_t n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % n;
  };
  for (int i = 0; i < 60000; i++) {
    // Short keys (in the slot), long ones (in the arena), the empty key.
    uint64_t k = rnd(3000);
    std::string key = k % 3 == 0 ? "k" + std::to_string(k) : k % 3 == 1 ? "a-long-key-" + std::to_string(k) : "";
    if (k % 3 == 2) key = std::string(k % 7, 'x');
    uint64_t h = key_table::hash(key);
    uint32_t id = t.find(key, h);
    auto it = model.find(key);
    REQUIRE((id == key_table::kNone) == (it == model.end()));
    if (it != model.end()) {
      REQUIRE(id == it->second);
      REQUIRE(t.key(id) == key);
      REQUIRE(t.key_at(t.slot_of(id)) == key);
      REQUIRE(t.id_at(t.slot_of(id)) == id);
      REQUIRE(t.value(id) == (id ^ 0x5555u));
      if (rnd(3) == 0) {
        t.erase(id);
        model.erase(it);
      }
    } else {
      id = t.insert(key, h);
      t.value(id) = id ^ 0x5555u;
      model[key] = id;
    }
    REQUIRE(t.size() == model.size());
  }
  for (const auto& [key, id] : model) CHECK(t.find(key, key_table::hash(key)) == id);
}

TEST_CASE("count table: 16-bit counters widen to 32 and 64 bits, and more than 15 values turn rows sparse") {
  for (int values : {3, 40}) {
    CAPTURE(values);
    count_table t;
    std::map<std::pair<uint32_t, std::string>, int64_t> model;  // (row, value) -> count
    std::vector<std::string> names;
    for (int v = 0; v < values; v++) names.push_back("value-" + std::to_string(v));
    t.resize(8);
    uint64_t x = 777;
    auto rnd = [&](uint64_t n) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x % n;
    };
    auto check_row = [&](uint32_t row) {
      std::vector<std::pair<uint32_t, int64_t>> got;
      t.entries(row, &got);
      std::map<std::string, int64_t> g, want;
      for (const auto& [v, n] : got) g[std::string(t.value(v))] = n;
      int64_t total = 0;
      for (const auto& [k, n] : model)
        if (k.first == row) {
          total += n;
          if (!k.second.empty() && n) want[k.second] = n;
        }
      CHECK(g == want);
      CHECK(t.total(row) == total);
    };
    for (int i = 0; i < 4000; i++) {
      uint32_t row = static_cast<uint32_t>(rnd(8));
      uint64_t op = rnd(20);
      std::string name = rnd(5) ? names[rnd(names.size())] : std::string();
      uint32_t v = name.empty() ? count_table::kNoValue : t.intern(name);
      if (op < 14) {
        t.increment(row, v);
        model[{row, name}] += 1;
      } else if (op < 17) {
        // Big adds: past 16 bits, then past 32.
        int64_t n = i < 2000 ? 40000 : 3000000000;
        t.add(row, v, n);
        model[{row, name}] += n;
      } else if (op < 19) {
        uint32_t src = static_cast<uint32_t>(rnd(8));
        if (src == row) continue;
        t.merge(row, src);
        for (auto it = model.begin(); it != model.end();) {
          if (it->first.first == src) {
            model[{row, it->first.second}] += it->second;
            it = model.erase(it);
          } else {
            ++it;
          }
        }
      } else {
        t.clear(row);
        for (auto it = model.begin(); it != model.end();) it = it->first.first == row ? model.erase(it) : std::next(it);
      }
      check_row(row);
    }
    for (uint32_t row = 0; row < 8; row++) check_row(row);
  }
}

TEST_CASE("timer queue: each watermark step takes out exactly the entries due, near or far, as a multiset would") {
  for (uint64_t seed = 1; seed <= 20; seed++) {
    CAPTURE(seed);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull;
    auto rnd = [&](uint64_t n) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x % n;
    };
    timer_queue q;
    std::multiset<std::pair<int64_t, uint32_t>> model;
    int64_t wm = -1000;
    uint32_t next_slot = 0;
    for (int step = 0; step < 3000; step++) {
      // New timers: mostly a "gap" ahead, some just ahead, some far.
      for (uint64_t k = rnd(8); k > 0; k--) {
        int64_t ahead = rnd(3) ? 5000 + static_cast<int64_t>(rnd(2000)) : static_cast<int64_t>(rnd(rnd(2) ? 50 : 100000));
        timer_queue::entry e{wm + 1 + ahead, next_slot++};
        q.push(e);
        model.insert({int64_t{e.time}, uint32_t{e.slot}});
      }
      wm += static_cast<int64_t>(rnd(rnd(20) ? 60 : 20000));
      if (step == 2999) wm = INT64_MAX;
      std::multiset<std::pair<int64_t, uint32_t>> got, want;
      while (q.due(wm)) {
        timer_queue::entry e = q.top();
        got.insert({int64_t{e.time}, uint32_t{e.slot}});
        if (rnd(3) == 0 && wm < INT64_MAX - 10000) {
          // Re-armed for later: the same slot, a new time.
          timer_queue::entry again{wm + 1 + static_cast<int64_t>(rnd(8000)), e.slot};
          q.replace_top(again);
          want.insert({int64_t{again.time}, uint32_t{again.slot}});  // re-added below
        } else {
          q.pop();
        }
      }
      std::multiset<std::pair<int64_t, uint32_t>> due_now;
      for (auto it = model.begin(); it != model.end() && it->first <= wm;) {
        due_now.insert(*it);
        it = model.erase(it);
      }
      REQUIRE(got == due_now);
      for (const auto& e : want) model.insert(e);
      REQUIRE(q.size() == model.size());
    }
  }
}

TEST_CASE("timer queue: times beyond 32 bits of its base come out early, never late, and go back in") {
  // Times spread over 2^40 ms and watermark jumps of up to 2^34 ms: the
  // queue holds some times as lower bounds and moves its base up and down.
  // An entry may come out early (its real time is later), as long as it
  // says a time <= the watermark and is put back, as session_windows does;
  // none may come out late, and the loop always ends.
  for (uint64_t seed = 1; seed <= 20; seed++) {
    CAPTURE(seed);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull;
    auto rnd = [&](uint64_t n) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x % n;
    };
    timer_queue q;
    std::map<uint32_t, int64_t> model;  // slot -> real time
    int64_t wm = static_cast<int64_t>(rnd(1000)) - 500;
    uint32_t next_slot = 0;
    for (int step = 0; step < 400; step++) {
      for (uint64_t k = rnd(20); k > 0; k--) {
        int64_t t;
        switch (rnd(4)) {
          case 0: t = wm + 1 + static_cast<int64_t>(rnd(uint64_t{1} << 40)); break;  // far: capped
          case 1: t = wm - static_cast<int64_t>(rnd(uint64_t{1} << 32)); break;      // below the base, maybe
          default: t = wm + 1 + static_cast<int64_t>(rnd(100000));
        }
        q.push({t, next_slot});
        model[next_slot++] = t;
      }
      wm += static_cast<int64_t>(rnd(4) == 0 ? rnd(uint64_t{1} << 34) : rnd(5000));
      if (step == 399) wm = INT64_MAX;
      size_t budget = 4 * model.size() + 100;
      while (q.due(wm)) {
        REQUIRE(budget-- > 0);
        timer_queue::entry e = q.top();
        REQUIRE(e.time <= wm);
        auto it = model.find(e.slot);
        REQUIRE(it != model.end());
        // A lower bound at worst, unless the entry is due anyway (the base
        // jumped past it to the watermark).
        REQUIRE((e.time <= it->second || it->second <= wm));
        if (it->second <= wm) {
          q.pop();
          model.erase(it);
        } else {
          q.replace_top({it->second, e.slot});  // early: back in for its time
        }
      }
      for (const auto& [slot, t] : model) REQUIRE(t > wm);  // none left behind
      REQUIRE(q.size() == model.size());
    }
    CHECK(model.empty());
  }
}

TEST_CASE("session JSON writes keys and count values exactly as the JSON string escaper does") {
  for (std::string key : {std::string("u42"), std::string("with space ~"), std::string("q\"uote"),
                          std::string("back\\slash"), std::string("tab\there"), std::string("del\x7f"),
                          std::string("caf\xc3\xa9"), std::string("bad\xff"), std::string(1, '\0'), std::string()}) {
    CAPTURE(key);
    fired_session s;
    s.key = key;
    std::vector<value_count> counts = {{key, 1}};
    s.counts = counts;
    std::string got, want = "{\"key\":";
    append_session_json(s, {true, false}, &got);
    append_json_string(want, key);
    want += ",\"window_start\":0,\"window_end\":0,\"count\":0,\"counts\":{";
    append_json_string(want, key);
    want += ":1},\"late_update\":false}";
    CHECK(got == want);
  }
}
