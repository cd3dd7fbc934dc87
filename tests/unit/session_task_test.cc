// A sessionize partition task end to end on JSON lines: outputs, late and
// malformed lines, punctuations, and a restart from a checkpoint.
#include <doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "processor/session_task.h"

using namespace kappa;

namespace {

struct collected {
  std::vector<std::string> out;       // "key@ts value"
  std::vector<std::string> rejected;  // "line | why"
};

std::unique_ptr<session_task> make_task(const session_task_options& o, collected* c) {
  return std::make_unique<session_task>(
      o, [c](std::string_view key, int64_t ts, std::string_view value) {
        c->out.push_back(std::string(key) + "@" + std::to_string(ts) + " " + std::string(value));
      },
      [c](std::string_view line, const std::string* why) {
        c->rejected.push_back(std::string(line) + " | " + (why ? *why : std::string("late")));
      });
}

void feed(session_task& t, const std::string& line) {
  std::string padded = line + std::string(64, ' ');
  t.feed(std::string_view(padded.data(), line.size()));
}

std::string ev(const std::string& user, int64_t ts, const std::string& type = "view") {
  return R"({"user_id":")" + user + R"(","timestamp_ms":)" + std::to_string(ts) + R"(,"event_type":")" + type + "\"}";
}

session_task_options opts() {
  session_task_options o;
  o.fields = {"user_id", "timestamp_ms", "event_type", "", "wm"};
  o.gap = 1000;
  o.max_out_of_orderness = 100;
  return o;
}

}  // namespace

TEST_CASE("session task: sessions fire as the watermark passes them, in (window_end, key) order") {
  collected c;
  auto t = make_task(opts(), &c);
  feed(*t, ev("b", 0));
  feed(*t, ev("a", 200, "click"));
  feed(*t, ev("a", 900));
  feed(*t, ev("b", 150));  // out of order, within the bound: joins b's session
  CHECK(c.out.empty());
  feed(*t, ev("c", 2101));  // watermark 2000: a [200,1900) and b [0,1150) fire
  REQUIRE(c.out.size() == 2);
  CHECK(c.out[0] ==
        R"(b@1149 {"key":"b","window_start":0,"window_end":1150,"count":2,"counts":{"view":2},"late_update":false})");
  CHECK(c.out[1] == R"(a@1899 {"key":"a","window_start":200,"window_end":1900,"count":2,)"
                    R"("counts":{"click":1,"view":1},"late_update":false})");
  feed(*t, ev("b", 500));  // its window [500,1500) is past the watermark and joins nothing: late
  REQUIRE(c.rejected.size() == 1);
  CHECK(c.rejected[0] == ev("b", 500) + " | late");
  feed(*t, R"({"user_id":"x"})");
  feed(*t, "not json");
  REQUIRE(c.rejected.size() == 3);
  CHECK(c.rejected[1].find("field 'timestamp_ms' is missing") != std::string::npos);
  feed(*t, R"({"wm":5000})");  // a punctuation: c [2101,3101) fires
  REQUIRE(c.out.size() == 3);
  CHECK(c.out[2].rfind("c@3100 ", 0) == 0);
  feed(*t, ev("d", 6000));
  t->finish();  // the end of a finite input fires the rest
  REQUIRE(c.out.size() == 4);
  CHECK(c.out[3].rfind("d@6999 ", 0) == 0);
  CHECK(t->stats().events == 7);  // the late one included
  CHECK(t->stats().late == 1);
  CHECK(t->stats().malformed == 2);
  CHECK(t->stats().sessions == 4);
}

TEST_CASE("session task: a restart from a checkpoint gives the same output as one run") {
  std::vector<std::string> lines;
  uint32_t x = 12345;
  auto rnd = [&](uint32_t n) {
    x = x * 1664525u + 1013904223u;
    return (x >> 8) % n;
  };
  int64_t t0 = 1700000000000;
  for (int i = 0; i < 3000; i++) {
    int64_t ts = t0 + i * 37 + static_cast<int64_t>(rnd(400)) - 200;
    lines.push_back(ev("u" + std::to_string(rnd(40)), ts, rnd(3) ? "view" : "click"));
    if (rnd(500) == 0) lines.push_back("garbage");
  }
  session_task_options o = opts();
  o.allowed_lateness = 150;
  collected straight;
  {
    auto t = make_task(o, &straight);
    for (const auto& l : lines) feed(*t, l);
    t->finish();
  }
  REQUIRE(straight.out.size() > 100);
  REQUIRE(!straight.rejected.empty());
  for (size_t cut : {size_t{1}, size_t{777}, size_t{1500}, lines.size() - 1}) {
    CAPTURE(cut);
    collected resumed;
    std::map<std::string, std::string> state;
    int64_t wm;
    {
      auto t = make_task(o, &resumed);
      for (size_t i = 0; i < cut; i++) feed(*t, lines[i]);
      t->windows().take_changes([&](const std::string& k, const std::string* enc) {
        if (enc)
          state[k] = *enc;
        else
          state.erase(k);
      });
      wm = t->watermark();
    }
    auto t = make_task(o, &resumed);  // a new process
    t->restore_watermark(wm);
    for (const auto& [k, v] : state) REQUIRE(t->windows().restore(k, v).ok());
    for (size_t i = cut; i < lines.size(); i++) feed(*t, lines[i]);
    t->finish();
    CHECK(resumed.out == straight.out);
    CHECK(resumed.rejected == straight.rejected);
  }
}
