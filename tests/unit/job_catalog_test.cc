// Jobs and aliases in the catalog, and a job version's options as text.
#include <doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "kappa/catalog.h"
#include "kappa/data_dir.h"
#include "processor/job_options.h"

namespace {

struct temp_data_dir {
  std::string path;
  std::unique_ptr<kappa::data_dir> dd;
  temp_data_dir() {
    char tmpl[] = "/tmp/kappa-job-XXXXXX";
    path = mkdtemp(tmpl);
    dd = std::move(kappa::data_dir::open(path, true).value());
  }
  ~temp_data_dir() {
    dd.reset();
    std::filesystem::remove_all(path);
  }
  void topic(const std::string& name) {
    kappa::topic_meta t;
    t.name = name;
    REQUIRE(dd->create_topic(t).ok());
  }
};

kappa::job_record job(const std::string& name, const std::string& base) {
  kappa::job_record j;
  j.name = name;
  j.base = base;
  j.created_ms = 1234;
  j.versions.push_back(kappa::job_version{1, "input=clicks\ngap=30m\n", 1234, false});
  return j;
}

}  // namespace

TEST_CASE("job options: canonical text, whatever the spelling and order") {
  std::string a, b;
  REQUIRE(kappa::set_job_option(&a, "gap", "1800000").ok());
  REQUIRE(kappa::set_job_option(&a, "input", "clicks").ok());
  REQUIRE(kappa::set_job_option(&b, "input", "clicks").ok());
  REQUIRE(kappa::set_job_option(&b, "gap", "30m").ok());
  CHECK(a == b);
  CHECK(a == "input=clicks\ngap=30m\n");
  REQUIRE(kappa::set_job_option(&a, "count-by", "event_type").ok());
  REQUIRE(kappa::set_job_option(&a, "count-by", "").ok());  // an optional one can be unset
  CHECK(a == b);
  CHECK(kappa::job_option(a, "gap") == "30m");
  CHECK(kappa::job_option(a, "sum-field").empty());
}

TEST_CASE("job options: bad names and values are refused, naming the option") {
  std::string t = "input=clicks\n";
  auto st = kappa::set_job_option(&t, "gapp", "1m");
  CHECK(st.is_invalid());
  CHECK(st.message().find("gapp") != std::string::npos);
  CHECK(kappa::set_job_option(&t, "gap", "0").is_invalid());
  CHECK(kappa::set_job_option(&t, "gap", "ten").message().find("--gap") != std::string::npos);
  CHECK(kappa::set_job_option(&t, "input", "").is_invalid());  // required
  CHECK(kappa::set_job_option(&t, "from", "middle").is_invalid());
  CHECK(kappa::set_job_option(&t, "threads", "-1").is_invalid());
  CHECK(kappa::set_job_option(&t, "key-field", "a\nb").is_invalid());
  CHECK(t == "input=clicks\n");  // nothing changed by a refusal
}

TEST_CASE("job options: text back into session_job_options") {
  std::string t;
  for (auto [k, v] : {std::pair{"input", "clicks"},
                      {"key-field", "u"},
                      {"time-field", "ts"},
                      {"gap", "20m"},
                      {"max-out-of-orderness", "5s"},
                      {"allowed-lateness", "1m"},
                      {"count-by", "type"},
                      {"sum-field", "price"},
                      {"watermark-field", "wm"},
                      {"late-output", "late"},
                      {"from", "latest"},
                      {"checkpoint-interval", "250ms"},
                      {"threads", "3"}})
    REQUIRE(kappa::set_job_option(&t, k, v).ok());
  auto o = kappa::job_options_from(t);
  REQUIRE(o.ok());
  CHECK(o->input == "clicks");
  CHECK(o->key_field == "u");
  CHECK(o->time_field == "ts");
  CHECK(o->gap_ms == 20 * 60000);
  CHECK(o->max_out_of_orderness_ms == 5000);
  CHECK(o->allowed_lateness_ms == 60000);
  CHECK(o->count_by == "type");
  CHECK(o->sum_field == "price");
  CHECK(o->watermark_field == "wm");
  CHECK(o->late_output == "late");
  CHECK(o->from_latest);
  CHECK(o->checkpoint_interval_ms == 250);
  CHECK(o->threads == 3);
  CHECK(o->output.empty());
  CHECK(kappa::job_options_from("input=clicks\ngap=1m\n").status().is_invalid());  // no key/time field
}

TEST_CASE("a job record round-trips through the catalog with its alias") {
  temp_data_dir t;
  t.topic("clicks");
  t.topic("s.v1");
  t.topic("s.v2");
  kappa::catalog& c = *t.dd->catalog();
  REQUIRE(c.create_job(job("web", "s"), "s.v1").ok());
  CHECK(c.create_job(job("web", "s"), "s.v1").is_exists());
  CHECK(c.create_job(job("other", "s"), "s.v1").is_exists());  // the alias is taken
  CHECK(c.get_job("other").status().is_not_found());           // and nothing was written
  CHECK(c.get_alias("s")->topic == "s.v1");

  REQUIRE(c.modify_job("web", [](kappa::job_record& j, std::string*) {
             j.versions.push_back(kappa::job_version{2, "input=clicks\ngap=20m\n", 99, false});
             j.versions[0].caught_up = true;
             return kappa::Status::OK();
           }).ok());
  auto j = c.get_job("web");
  REQUIRE(j.ok());
  REQUIRE(j->versions.size() == 2);
  CHECK(j->versions[0].caught_up);
  CHECK(!j->versions[1].caught_up);
  CHECK(j->versions[1].options == "input=clicks\ngap=20m\n");
  CHECK(j->versions[1].created_ms == 99);
  CHECK(j->serving == 1);
  CHECK(j->base == "s");

  // cutover: the record and the alias change in one transaction ...
  REQUIRE(c.modify_job("web", [](kappa::job_record& r, std::string* alias) {
             r.serving = 2;
             *alias = "s.v2";
             return kappa::Status::OK();
           }).ok());
  CHECK(c.get_job("web")->serving == 2);
  auto a = c.get_alias("s");
  CHECK(a->topic == "s.v2");
  CHECK(a->previous == "s.v1");
  // ... or neither does
  CHECK(c.modify_job("web", [](kappa::job_record& r, std::string* alias) {
           r.serving = 1;
           *alias = "missing-topic";
           return kappa::Status::OK();
         }).is_not_found());
  CHECK(c.get_job("web")->serving == 2);
  CHECK(c.get_alias("s")->topic == "s.v2");
  CHECK(
      c.modify_job("web", [](kappa::job_record&, std::string*) { return kappa::Status::Invalid("no"); }).is_invalid());

  REQUIRE(c.delete_job("web").ok());
  CHECK(c.get_job("web").status().is_not_found());
  CHECK(c.get_alias("s").status().is_not_found());  // it named one of the job's versions
}

TEST_CASE("an alias never shadows a topic, and keeps the topic it names") {
  temp_data_dir t;
  t.topic("a");
  t.topic("b");
  kappa::catalog& c = *t.dd->catalog();
  CHECK(c.set_alias("a", "b").is_exists());
  CHECK(c.set_alias("x", "nope").is_not_found());
  REQUIRE(c.set_alias("x", "a").ok());
  CHECK(t.dd->resolve_topic("x")->name == "a");
  CHECK(t.dd->resolve_topic("a")->name == "a");
  CHECK(t.dd->resolve_topic("y").status().is_not_found());
  kappa::topic_meta m;
  m.name = "x";
  CHECK(t.dd->create_topic(m).is_exists());
  CHECK(t.dd->delete_topic("a").is_busy());
  REQUIRE(c.set_alias("x", "b").ok());
  CHECK(c.get_alias("x")->previous == "a");
  REQUIRE(t.dd->delete_topic("a").ok());
  auto all = c.list_aliases();
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].topic == "b");
  REQUIRE(c.delete_alias("x").ok());
  CHECK(c.delete_alias("x").is_not_found());
}
