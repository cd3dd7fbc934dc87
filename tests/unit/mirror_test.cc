// Mirrors in the catalog (definitions, progress), the topic filter, and the
// checks `kappa mirror create` makes.
#include <doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "kappa/catalog.h"
#include "kappa/data_dir.h"
#include "kappa/mirror.h"
#include "mirror/topic_filter.h"

namespace {

struct temp_data_dir {
  std::string path;
  std::unique_ptr<kappa::data_dir> dd;
  temp_data_dir() {
    char tmpl[] = "/tmp/kappa-mirror-XXXXXX";
    path = mkdtemp(tmpl);
    dd = std::move(kappa::data_dir::open(path, true).value());
    REQUIRE(dd->ensure_created().ok());
  }
  ~temp_data_dir() {
    dd.reset();
    std::filesystem::remove_all(path);
  }
};

kappa::mirror_record definition(const std::string& name, bool to) {
  kappa::mirror_record m;
  m.name = name;
  m.to = to;
  m.bootstrap = "127.0.0.1:1";
  m.topics = "clicks,views";
  return m;
}

}  // namespace

TEST_CASE("mirror definitions: stored, listed, refused twice, deleted with their progress") {
  temp_data_dir t;
  kappa::catalog& c = *t.dd->catalog();
  kappa::mirror_record m = definition("edge", true);
  m.prefix = "edge1.";
  m.from_latest = true;
  // A value with a newline and a backslash survives the line encoding.
  m.properties = {{"sasl.password", "a\\b\nc=d"}, {"linger.ms", "5"}};
  REQUIRE(c.create_mirror(m).ok());
  CHECK(c.create_mirror(m).is_exists());
  REQUIRE(c.create_mirror(definition("home", false)).ok());

  auto got = c.get_mirror("edge");
  REQUIRE(got.ok());
  CHECK(got->to);
  CHECK(got->bootstrap == "127.0.0.1:1");
  CHECK(got->topics == "clicks,views");
  CHECK(got->prefix == "edge1.");
  CHECK(got->from_latest);
  CHECK(got->created_ms > 0);
  REQUIRE(got->properties.size() == 2);
  CHECK(got->properties[0] == std::pair<std::string, std::string>{"sasl.password", "a\\b\nc=d"});
  CHECK(got->properties[1].first == "linger.ms");

  auto all = c.list_mirrors();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "edge");
  CHECK(!(*all)[1].to);

  kappa::mirror_progress p;
  p.topic = "clicks";
  p.partition = 2;
  p.next = 100;
  p.output_end = -1;
  p.dest_floor = 7;
  p.lost = {{10, 19}, {40, 40}};
  p.last_error = "cannot reach 127.0.0.1:1\nsecond line";
  kappa::mirror_progress q = p;
  q.topic = "views";
  q.partition = 0;
  q.next = 5;
  q.lost.clear();
  q.last_error.clear();
  REQUIRE(c.commit_mirror_progress("edge", {p, q}).ok());
  // The other mirror's progress is its own.
  REQUIRE(c.commit_mirror_progress("home", {q}).ok());
  p.next = 150;
  REQUIRE(c.commit_mirror_progress("edge", {p}).ok());  // replaces, does not add

  auto prog = c.mirror_progress_of("edge");
  REQUIRE(prog.ok());
  REQUIRE(prog->size() == 2);
  CHECK((*prog)[0].topic == "clicks");
  CHECK((*prog)[0].partition == 2);
  CHECK((*prog)[0].next == 150);
  CHECK((*prog)[0].dest_floor == 7);
  CHECK((*prog)[0].lost == std::vector<std::pair<int64_t, int64_t>>{{10, 19}, {40, 40}});
  CHECK((*prog)[0].last_error == "cannot reach 127.0.0.1:1\nsecond line");
  CHECK((*prog)[0].time_ms > 0);
  CHECK((*prog)[1].topic == "views");
  CHECK((*prog)[1].next == 5);

  REQUIRE(c.delete_mirror("edge").ok());
  CHECK(c.get_mirror("edge").status().is_not_found());
  CHECK(c.mirror_progress_of("edge")->empty());
  CHECK(c.delete_mirror("edge").is_not_found());
  // A runner that commits after its mirror was deleted is told so.
  CHECK(c.commit_mirror_progress("edge", {p}).is_not_found());
  CHECK(c.mirror_progress_of("home")->size() == 1);
}

TEST_CASE("topic filter: a list of names, or a regex over the whole name") {
  using kappa::mirror_detail::topic_filter;
  auto list = topic_filter::parse("clicks,views,,clicks");
  REQUIRE(list.ok());
  CHECK(!list->is_regex());
  CHECK(list->names() == std::vector<std::string>{"clicks", "views"});
  CHECK(list->matches("clicks"));
  CHECK(!list->matches("click"));
  CHECK(!list->matches("clicks2"));

  auto re = topic_filter::parse("/prod\\..*/");
  REQUIRE(re.ok());
  CHECK(re->is_regex());
  CHECK(re->matches("prod.clicks"));
  CHECK(!re->matches("xprod.clicks"));  // the whole name
  CHECK(!re->matches("prod"));
  CHECK(topic_filter::parse("/.*/")->matches("clicks"));
  CHECK(!topic_filter::parse("/.*/")->matches("__consumer_offsets"));  // never internal topics

  CHECK(topic_filter::parse("").status().is_invalid());
  CHECK(topic_filter::parse(",").status().is_invalid());
  CHECK(topic_filter::parse("a b").status().is_invalid());
  CHECK(topic_filter::parse("/a[/").status().is_invalid());
}

TEST_CASE("mirror::check: names, prefix, and -X properties as librdkafka takes them") {
  kappa::mirror_record m = definition("edge", true);
  CHECK(kappa::mirror::check(m).ok());
  m.properties = {{"compression.type", "lz4"}, {"linger.ms", "20"}};
  CHECK(kappa::mirror::check(m).ok());
  m.properties = {{"no.such.property", "1"}};
  kappa::Status st = kappa::mirror::check(m);
  CHECK(st.is_invalid());
  CHECK(st.message().find("no.such.property") != std::string::npos);
  m.properties = {{"acks", "1"}};  // the idempotent producer needs acks=all
  CHECK(kappa::mirror::check(m).is_invalid());
  m.properties.clear();
  m.prefix = "bad prefix";
  CHECK(kappa::mirror::check(m).is_invalid());
  m.prefix = "";
  m.name = "../x";
  CHECK(kappa::mirror::check(m).is_invalid());
  kappa::mirror_record f = definition("home", false);
  f.prefix = "home.";
  CHECK(kappa::mirror::check(f).ok());
  CHECK(kappa::mirror::destination_of(f, "clicks") == "home.clicks");
}

TEST_CASE("a --from mirror owns its local topics (prefix + a matching name)") {
  temp_data_dir t;
  kappa::mirror_record f = definition("home", false);
  f.prefix = "home.";
  f.topics = "/prod\\..*/";
  REQUIRE(t.dd->catalog()->create_mirror(f).ok());
  kappa::mirror_record to = definition("edge", true);  // a --to mirror owns nothing here
  REQUIRE(t.dd->catalog()->create_mirror(to).ok());
  CHECK(kappa::mirror::owner_of_local_topic(*t.dd, "home.prod.clicks").value() == "home");
  CHECK(kappa::mirror::owner_of_local_topic(*t.dd, "prod.clicks").value().empty());
  CHECK(kappa::mirror::owner_of_local_topic(*t.dd, "home.dev.clicks").value().empty());
  CHECK(kappa::mirror::owner_of_local_topic(*t.dd, "clicks").value().empty());
}
