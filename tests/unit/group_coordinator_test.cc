// Tests for src/broker/group_coordinator: Kafka's classic group protocol
// driven by hand, with time passed explicitly (no clock, no sockets).
#include <doctest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/group_coordinator.h"

using namespace kappa;
using namespace kappa::broker;

namespace {

constexpr int32_t kSession = 10000;
constexpr int32_t kRebalance = 5000;
constexpr int64_t kDelay = 100;
// Members joining together: the second one extends the initial delay once.
constexpr int64_t kTogether = 2 * kDelay;

group_coordinator::options test_options() {
  group_coordinator::options o;
  o.initial_rebalance_delay_ms = kDelay;
  o.min_session_timeout_ms = 1000;
  o.max_session_timeout_ms = 60000;
  return o;
}

// What a completion received, copied out of the views.
struct join_seen {
  int calls = 0;
  int16_t error = -1;
  int32_t generation = -2;
  std::string protocol, leader, member_id;
  std::vector<std::pair<std::string, std::string>> members;
};
struct sync_seen {
  int calls = 0;
  int16_t error = -1;
  std::string assignment;
};

using protocols = std::vector<wire::join_group_request::protocol>;

// Strings the requests point at must outlive the call only; literals do.
std::shared_ptr<join_seen> join(group_coordinator& c, uint64_t conn, std::string_view member_id, int64_t now,
                                protocols ps = {{"range", "meta"}}, std::string_view client_id = "c",
                                std::string_view group = "g", std::string_view protocol_type = "consumer",
                                int32_t session = kSession, int16_t version = 2) {
  wire::join_group_request req;
  req.group_id = group;
  req.session_timeout_ms = session;
  req.rebalance_timeout_ms = version == 0 ? -1 : kRebalance;
  req.member_id = member_id;
  req.protocol_type = protocol_type;
  req.protocols = std::move(ps);
  auto seen = std::make_shared<join_seen>();
  c.join(conn, version, req, client_id, "/127.0.0.1", now, [seen](const wire::join_group_response& r) {
    ++seen->calls;
    seen->error = r.error_code;
    seen->generation = r.generation_id;
    seen->protocol = r.protocol_name;
    seen->leader = r.leader;
    seen->member_id = r.member_id;
    seen->members.clear();
    for (const auto& m : r.members) seen->members.emplace_back(m.member_id, m.metadata);
  });
  return seen;
}

std::shared_ptr<sync_seen> sync(group_coordinator& c, uint64_t conn, std::string_view member_id, int32_t generation,
                                int64_t now, std::vector<wire::sync_group_request::assignment> assignments = {},
                                std::string_view group = "g") {
  wire::sync_group_request req;
  req.group_id = group;
  req.generation_id = generation;
  req.member_id = member_id;
  req.assignments = std::move(assignments);
  auto seen = std::make_shared<sync_seen>();
  c.sync(conn, req, now, [seen](const wire::sync_group_response& r) {
    ++seen->calls;
    seen->error = r.error_code;
    seen->assignment = r.assignment;
  });
  return seen;
}

int16_t heartbeat(group_coordinator& c, std::string_view member_id, int32_t generation, int64_t now,
                  std::string_view group = "g") {
  wire::heartbeat_request req;
  req.group_id = group;
  req.generation_id = generation;
  req.member_id = member_id;
  return c.heartbeat(req, now).error_code;
}

int16_t leave(group_coordinator& c, std::string_view member_id, int64_t now) {
  wire::leave_group_request req;
  req.group_id = "g";
  req.member_id = member_id;
  return c.leave(req, now).error_code;
}

std::string_view state_of(const group_coordinator& c, std::string_view group = "g") {
  return c.describe_group(group).state;
}

// Two members A (leader, conn 1) and B (conn 2) in generation 1, Stable at
// time kTogether, with assignments "a" and "b".
struct stable_pair {
  group_coordinator c{test_options()};
  std::string a, b;
  stable_pair() {
    auto ja = join(c, 1, "", 0, {{"range", "meta-a"}}, "ca");
    auto jb = join(c, 2, "", 0, {{"range", "meta-b"}}, "cb");
    c.tick(kTogether);
    REQUIRE(ja->calls == 1);
    REQUIRE(jb->calls == 1);
    a = ja->member_id;
    b = jb->member_id;
    REQUIRE(ja->leader == a);
    auto sb = sync(c, 2, b, 1, kTogether);
    auto sa = sync(c, 1, a, 1, kTogether, {{a, "a"}, {b, "b"}});
    REQUIRE(sa->assignment == "a");
    REQUIRE(sb->assignment == "b");
    REQUIRE(state_of(c) == "Stable");
  }
};

}  // namespace

TEST_CASE("group: one member joins and leads alone after the initial delay; sync gives its own assignment") {
  group_coordinator c(test_options());
  auto j = join(c, 1, "", 0, {{"range", "meta-a"}}, "client-1");
  CHECK(j->calls == 0);  // held for the initial delay
  CHECK(state_of(c) == "PreparingRebalance");
  CHECK(c.next_tick_ms() == kDelay);
  CHECK(c.tick(kDelay - 1) == kDelay);
  CHECK(j->calls == 0);
  c.tick(kDelay);
  REQUIRE(j->calls == 1);
  CHECK(j->error == 0);
  CHECK(j->generation == 1);
  CHECK(j->protocol == "range");
  CHECK(j->member_id.starts_with("client-1-"));
  CHECK(j->member_id.size() == std::string("client-1-").size() + 36);  // a UUID
  CHECK(j->leader == j->member_id);
  REQUIRE(j->members.size() == 1);
  CHECK(j->members[0] == std::pair<std::string, std::string>{j->member_id, "meta-a"});
  CHECK(state_of(c) == "CompletingRebalance");

  auto s = sync(c, 1, j->member_id, 1, kDelay + 5, {{j->member_id, "mine"}});
  REQUIRE(s->calls == 1);
  CHECK(s->error == 0);
  CHECK(s->assignment == "mine");
  CHECK(state_of(c) == "Stable");
  // A repeated sync in Stable gets the same assignment.
  CHECK(sync(c, 1, j->member_id, 1, kDelay + 6)->assignment == "mine");
}

TEST_CASE(
    "group: two members join one generation; the leader gets both metadata; the follower's sync waits for the "
    "leader's") {
  group_coordinator c(test_options());
  auto ja = join(c, 1, "", 0, {{"range", "meta-a"}, {"roundrobin", "rr-a"}}, "ca");
  auto jb = join(c, 2, "", 10, {{"roundrobin", "rr-b"}, {"range", "meta-b"}}, "cb");
  // B arrived during the first delay: the group waits one delay more.
  c.tick(kDelay);
  CHECK(ja->calls == 0);
  CHECK(jb->calls == 0);
  c.tick(2 * kDelay);
  REQUIRE(ja->calls == 1);
  REQUIRE(jb->calls == 1);
  CHECK(ja->generation == 1);
  CHECK(jb->generation == 1);
  CHECK(ja->member_id != jb->member_id);
  CHECK(ja->leader == ja->member_id);
  CHECK(jb->leader == ja->member_id);
  // Both support both; the leader's first choice wins.
  CHECK(ja->protocol == "range");
  CHECK(jb->protocol == "range");
  REQUIRE(ja->members.size() == 2);
  CHECK(ja->members[0] == std::pair<std::string, std::string>{ja->member_id, "meta-a"});
  CHECK(ja->members[1] == std::pair<std::string, std::string>{jb->member_id, "meta-b"});
  CHECK(jb->members.empty());

  // Heartbeats between join and sync are fine.
  CHECK(heartbeat(c, jb->member_id, 1, 2 * kDelay + 1) == 0);

  auto sb = sync(c, 2, jb->member_id, 1, 2 * kDelay + 2);
  CHECK(sb->calls == 0);
  auto sa = sync(c, 1, ja->member_id, 1, 2 * kDelay + 3, {{ja->member_id, "asg-a"}, {jb->member_id, "asg-b"}});
  REQUIRE(sa->calls == 1);
  REQUIRE(sb->calls == 1);
  CHECK(sa->error == 0);
  CHECK(sb->error == 0);
  CHECK(sa->assignment == "asg-a");
  CHECK(sb->assignment == "asg-b");
  CHECK(state_of(c) == "Stable");
}

TEST_CASE("group: a third member joining a stable group makes the others rejoin into a new generation") {
  stable_pair p;
  auto jc = join(p.c, 3, "", 1000, {{"range", "meta-c"}}, "cc");
  CHECK(jc->calls == 0);
  CHECK(state_of(p.c) == "PreparingRebalance");
  CHECK(heartbeat(p.c, p.a, 1, 1001) == 27);
  CHECK(heartbeat(p.c, p.b, 1, 1001) == 27);
  auto ja = join(p.c, 1, p.a, 1002, {{"range", "meta-a"}});
  CHECK(ja->calls == 0);
  CHECK(jc->calls == 0);
  auto jb = join(p.c, 2, p.b, 1003, {{"range", "meta-b"}});
  // Everyone is in: no waiting for the rebalance timeout.
  REQUIRE(ja->calls == 1);
  REQUIRE(jb->calls == 1);
  REQUIRE(jc->calls == 1);
  for (auto* j : {ja.get(), jb.get(), jc.get()}) {
    CHECK(j->error == 0);
    CHECK(j->generation == 2);
    CHECK(j->leader == p.a);
  }
  CHECK(ja->members.size() == 3);
  CHECK(jb->members.empty());
  CHECK(jc->members.empty());
  // The old generation is gone.
  CHECK(heartbeat(p.c, p.a, 1, 1004) == 22);
  CHECK(heartbeat(p.c, p.a, 2, 1004) == 0);
}

TEST_CASE("group: a member whose session expires is removed and the others rebalance") {
  stable_pair p;
  CHECK(heartbeat(p.c, p.a, 1, 5000) == 0);
  // B's last sign of life was its sync.
  CHECK(p.c.next_tick_ms() == kTogether + kSession);
  p.c.tick(kTogether + kSession - 1);
  CHECK(state_of(p.c) == "Stable");
  p.c.tick(kTogether + kSession);
  CHECK(state_of(p.c) == "PreparingRebalance");
  CHECK(p.c.live_members("g").size() == 1);
  CHECK(heartbeat(p.c, p.a, 1, 10200) == 27);
  auto ja = join(p.c, 1, p.a, 10201, {{"range", "meta-a"}});
  REQUIRE(ja->calls == 1);
  CHECK(ja->generation == 2);
  CHECK(ja->members.size() == 1);
  CHECK(heartbeat(p.c, p.b, 1, 10202) == 25);
}

TEST_CASE("group: a session expiry is applied at its time even when tick comes late") {
  stable_pair p;
  // No tick at all: the heartbeat itself finds B gone and A rebalancing.
  CHECK(heartbeat(p.c, p.b, 1, 50000) == 25);
  CHECK(p.c.live_members("g").empty());  // A expired at the same time
  CHECK(state_of(p.c) == "Empty");
}

TEST_CASE("group: a rebalance ended by a late tick starts the members' sessions at that tick") {
  group_coordinator c(test_options());
  auto j = join(c, 1, "", 0);
  c.tick(5000);
  REQUIRE(j->calls == 1);
  // The client hears of its generation only now; its session runs from here.
  CHECK(c.next_tick_ms() == 5000 + kSession);
}

TEST_CASE("group: a member that leaves triggers a rebalance") {
  stable_pair p;
  CHECK(leave(p.c, p.b, 200) == 0);
  CHECK(state_of(p.c) == "PreparingRebalance");
  CHECK(heartbeat(p.c, p.a, 1, 201) == 27);
  auto ja = join(p.c, 1, p.a, 202, {{"range", "meta-a"}});
  REQUIRE(ja->calls == 1);
  CHECK(ja->generation == 2);
  CHECK(ja->members.size() == 1);
  CHECK(leave(p.c, p.b, 203) == 25);
  // The last member leaving empties the group at once.
  CHECK(leave(p.c, p.a, 204) == 0);
  CHECK(state_of(p.c) == "Empty");
}

TEST_CASE("group: a member that does not rejoin within the rebalance timeout is dropped") {
  stable_pair p;
  auto jc = join(p.c, 3, "", 1000, {{"range", "meta-c"}}, "cc");
  auto ja = join(p.c, 1, p.a, 1001, {{"range", "meta-a"}});
  CHECK(p.c.next_tick_ms() == 1000 + kRebalance);
  p.c.tick(1000 + kRebalance - 1);
  CHECK(ja->calls == 0);
  p.c.tick(1000 + kRebalance);
  REQUIRE(ja->calls == 1);
  REQUIRE(jc->calls == 1);
  CHECK(ja->generation == 2);
  REQUIRE(ja->members.size() == 2);
  CHECK(ja->members[0].first == p.a);
  CHECK(ja->members[1].first == jc->member_id);
  CHECK(heartbeat(p.c, p.b, 1, 6001) == 25);
  CHECK(p.c.live_members("g").size() == 2);
}

TEST_CASE("group: the leader that does not rejoin is replaced by a member that did") {
  stable_pair p;
  auto jc = join(p.c, 3, "", 1000, {{"range", "meta-c"}}, "cc");
  auto jb = join(p.c, 2, p.b, 1001, {{"range", "meta-b"}});
  p.c.tick(1000 + kRebalance);
  REQUIRE(jb->calls == 1);
  CHECK(jb->leader == p.b);
  CHECK(jb->members.size() == 2);
  CHECK(jc->leader == p.b);
  CHECK(jc->members.empty());
}

TEST_CASE("group: protocols with nothing in common, or another protocol type, get INCONSISTENT_GROUP_PROTOCOL") {
  group_coordinator c(test_options());
  auto ja = join(c, 1, "", 0, {{"range", "m"}});
  auto jb = join(c, 2, "", 1, {{"sticky", "m"}, {"cooperative-sticky", "m"}});
  REQUIRE(jb->calls == 1);
  CHECK(jb->error == 23);
  CHECK(jb->generation == -1);
  auto jc = join(c, 3, "", 2, {{"range", "m"}}, "c", "g", "connect");
  REQUIRE(jc->calls == 1);
  CHECK(jc->error == 23);
  auto jd = join(c, 4, "", 3, {});
  REQUIRE(jd->calls == 1);
  CHECK(jd->error == 23);
  CHECK(c.live_members("g").size() == 1);  // none of them got in
  // Nor can a new group start with no protocols.
  auto je = join(c, 5, "", 4, {}, "c", "other");
  CHECK(je->error == 23);
  CHECK(state_of(c, "other") == "Dead");
  c.tick(kDelay);
  CHECK(ja->error == 0);
}

TEST_CASE("group: joins refused for a bad session timeout, an unknown member or no group id") {
  group_coordinator c(test_options());
  CHECK(join(c, 1, "", 0, {{"range", "m"}}, "c", "g", "consumer", 999)->error == 26);
  CHECK(join(c, 1, "", 0, {{"range", "m"}}, "c", "g", "consumer", 60001)->error == 26);
  CHECK(join(c, 1, "nobody", 0)->error == 25);
  CHECK(join(c, 1, "", 0, {{"range", "m"}}, "c", "")->error == 24);
  CHECK(c.list_groups().empty());
}

TEST_CASE("group: JoinGroup v0 uses the session timeout as the rebalance timeout") {
  group_coordinator c(test_options());
  auto ja = join(c, 1, "", 0, {{"range", "m"}}, "ca");
  c.tick(kDelay);
  REQUIRE(ja->calls == 1);
  sync(c, 1, ja->member_id, 1, kDelay, {});
  // A's (v2) rebalance timeout is 5000, B's (v0) is its session timeout.
  join(c, 2, "", 200, {{"range", "m"}}, "cb", "g", "consumer", 8000, 0);
  CHECK(c.next_tick_ms() == 200 + 8000);
}

TEST_CASE(
    "group: wrong generation gets ILLEGAL_GENERATION and an unknown member UNKNOWN_MEMBER_ID, on sync, heartbeat and "
    "commit") {
  stable_pair p;
  auto s = sync(p.c, 1, p.a, 2, 200);
  REQUIRE(s->calls == 1);
  CHECK(s->error == 22);
  s = sync(p.c, 1, "stranger", 1, 200);
  REQUIRE(s->calls == 1);
  CHECK(s->error == 25);
  s = sync(p.c, 1, p.a, 1, 200, {}, "no-such-group");
  CHECK(s->error == 25);
  CHECK(heartbeat(p.c, p.b, 0, 200) == 22);
  CHECK(heartbeat(p.c, "stranger", 1, 200) == 25);
  CHECK(heartbeat(p.c, p.a, 1, 200, "no-such-group") == 25);
  CHECK(p.c.check_commit("g", 7, p.a, 200) == 22);
  CHECK(p.c.check_commit("g", 1, "stranger", 200) == 25);
  CHECK(p.c.check_commit("g", 1, p.a, 200) == 0);
  // A generation from a group the coordinator never saw (say, after a restart).
  CHECK(p.c.check_commit("other", 3, "old-member", 200) == 22);
  CHECK(heartbeat(p.c, p.a, 1, 200) == 0);
}

TEST_CASE(
    "group: commits during a rebalance: allowed with the old generation before rejoining, refused while completing") {
  stable_pair p;
  auto jc = join(p.c, 3, "", 1000, {{"range", "meta-c"}}, "cc");
  CHECK(p.c.check_commit("g", 1, p.b, 1001) == 0);
  join(p.c, 1, p.a, 1002, {{"range", "meta-a"}});
  join(p.c, 2, p.b, 1003, {{"range", "meta-b"}});
  CHECK(state_of(p.c) == "CompletingRebalance");
  CHECK(p.c.check_commit("g", 2, p.b, 1004) == 27);
}

TEST_CASE("group: a commit with generation -1 is accepted while the group has no members and refused while it has") {
  group_coordinator c(test_options());
  CHECK(c.check_commit("g", -1, "", 0) == 0);
  auto ja = join(c, 1, "", 0);
  CHECK(c.check_commit("g", -1, "", 1) == 25);  // a member is joining
  c.tick(kDelay);
  sync(c, 1, ja->member_id, 1, kDelay, {{ja->member_id, "x"}});
  CHECK(c.check_commit("g", -1, "", kDelay + 1) == 25);
  CHECK(leave(c, ja->member_id, kDelay + 2) == 0);
  CHECK(state_of(c) == "Empty");
  CHECK(c.check_commit("g", -1, "", kDelay + 3) == 0);
  // The old member's generation is no good any more.
  CHECK(c.check_commit("g", 1, ja->member_id, kDelay + 4) == 25);
  CHECK(c.check_commit("", -1, "", kDelay + 5) == 24);
}

TEST_CASE("group: after cancel(conn) that connection's completions are never called") {
  group_coordinator c(test_options());
  auto ja = join(c, 1, "", 0, {{"range", "m"}}, "ca");
  auto jb = join(c, 2, "", 0, {{"range", "m"}}, "cb");
  c.cancel(2);
  c.tick(kTogether);
  REQUIRE(ja->calls == 1);
  CHECK(jb->calls == 0);
  // B stays a member (its join counted) until its session times out.
  CHECK(ja->members.size() == 2);
  CHECK(c.live_members("g").size() == 2);
  std::string b = ja->members[1].first;

  // A held sync of a closed connection is not answered either.
  auto sb = sync(c, 3, b, 1, kTogether);
  c.cancel(3);
  auto sa = sync(c, 1, ja->member_id, 1, kTogether + 1, {{ja->member_id, "a"}, {b, "b"}});
  CHECK(sa->calls == 1);
  CHECK(sb->calls == 0);
  // Then B's session runs out and A is asked to rejoin.
  CHECK(heartbeat(c, ja->member_id, 1, 5000) == 0);
  c.tick(kTogether + 1 + kSession);
  CHECK(c.live_members("g").size() == 1);
  CHECK(heartbeat(c, ja->member_id, 1, kTogether + 1 + kSession) == 27);
  CHECK(jb->calls == 0);
  CHECK(sb->calls == 0);
}

TEST_CASE("group: every completion runs exactly once, also for a repeated join or a member that leaves while held") {
  stable_pair p;
  auto jc = join(p.c, 3, "", 1000, {{"range", "meta-c"}}, "cc");
  auto ja1 = join(p.c, 1, p.a, 1001, {{"range", "meta-a"}});
  auto ja2 = join(p.c, 1, p.a, 1002, {{"range", "meta-a"}});
  REQUIRE(ja1->calls == 1);
  CHECK(ja1->error == 27);  // replaced by the second join
  CHECK(ja2->calls == 0);
  // C's id, which its held join has not told it yet (the CLI's view has it).
  std::string c_id = p.c.live_members("g").at(2).member_id;
  CHECK(leave(p.c, c_id, 1003) == 0);
  REQUIRE(jc->calls == 1);
  CHECK(jc->error == 25);
  join(p.c, 2, p.b, 1004, {{"range", "meta-b"}});
  REQUIRE(ja2->calls == 1);
  CHECK(ja2->generation == 2);
  CHECK(ja1->calls == 1);
  CHECK(jc->calls == 1);
}

TEST_CASE("group: a rebalance answers syncs held for the abandoned generation with REBALANCE_IN_PROGRESS") {
  group_coordinator c(test_options());
  auto ja = join(c, 1, "", 0, {{"range", "m"}}, "ca");
  auto jb = join(c, 2, "", 0, {{"range", "m"}}, "cb");
  c.tick(kTogether);
  auto sb = sync(c, 2, jb->member_id, 1, kTogether);
  CHECK(sb->calls == 0);
  join(c, 3, "", kTogether + 1, {{"range", "m"}}, "cc");
  REQUIRE(sb->calls == 1);
  CHECK(sb->error == 27);
  // The leader's late sync for generation 1 is refused too.
  auto sa = sync(c, 1, ja->member_id, 1, kTogether + 2, {{ja->member_id, "a"}});
  CHECK(sa->error == 27);
}

TEST_CASE("group: describe and list show the state, the protocol and the members") {
  group_coordinator c(test_options());
  CHECK(state_of(c, "g") == "Dead");
  CHECK(c.describe_group("g").members.empty());
  auto ja = join(c, 1, "", 0, {{"range", "meta-a"}}, "client-a");
  auto d = c.describe_group("g");
  CHECK(d.state == "PreparingRebalance");
  CHECK(d.protocol_type == "consumer");
  CHECK(d.protocol.empty());
  REQUIRE(d.members.size() == 1);
  CHECK(d.members[0].client_id == "client-a");
  CHECK(d.members[0].client_host == "/127.0.0.1");
  CHECK(d.members[0].metadata.empty());  // only while Stable

  c.tick(kDelay);
  d = c.describe_group("g");
  CHECK(d.state == "CompletingRebalance");
  CHECK(d.protocol.empty());  // chosen, but shown only once Stable
  CHECK(d.members.at(0).metadata.empty());
  sync(c, 1, ja->member_id, 1, kDelay, {{ja->member_id, "asg"}});
  d = c.describe_group("g");
  CHECK(d.state == "Stable");
  CHECK(d.protocol == "range");
  REQUIRE(d.members.size() == 1);
  CHECK(d.members[0].member_id == ja->member_id);
  CHECK(d.members[0].metadata == "meta-a");
  CHECK(d.members[0].assignment == "asg");

  join(c, 2, "", kDelay + 1, {{"range", "m"}}, "c", "second", "connect");
  auto l = c.list_groups();
  REQUIRE(l.size() == 2);
  CHECK(l[0].group_id == "g");
  CHECK(l[0].protocol_type == "consumer");
  CHECK(l[0].state == "Stable");
  CHECK(l[1].group_id == "second");
  CHECK(l[1].protocol_type == "connect");
  CHECK(l[1].state == "PreparingRebalance");

  leave(c, ja->member_id, kDelay + 2);
  d = c.describe_group("g");
  CHECK(d.state == "Empty");
  CHECK(d.members.empty());
  CHECK(d.protocol_type == "consumer");  // still listed as a consumer group
}

TEST_CASE("group: the observer sees every membership change") {
  group_coordinator c(test_options());
  std::vector<std::pair<std::string, std::vector<std::string>>> seen;
  c.set_membership_observer([&](std::string_view group, const std::vector<live_member>& members) {
    std::vector<std::string> ids;
    for (const auto& m : members) ids.push_back(m.client_id + "@" + m.client_host);
    seen.emplace_back(std::string(group), std::move(ids));
  });
  auto ja = join(c, 1, "", 0, {{"range", "m"}}, "ca");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].first == "g");
  CHECK(seen[0].second == std::vector<std::string>{"ca@/127.0.0.1"});
  auto jb = join(c, 2, "", 0, {{"range", "m"}}, "cb");
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].second == std::vector<std::string>{"ca@/127.0.0.1", "cb@/127.0.0.1"});
  c.tick(kTogether);
  CHECK(ja->calls == 1);
  CHECK(seen.size() == 2);  // a generation change alone is not a membership change
  leave(c, jb->member_id, kTogether + 1);
  REQUIRE(seen.size() == 3);
  CHECK(seen[2].second == std::vector<std::string>{"ca@/127.0.0.1"});
  // A does not rejoin: the rebalance timeout drops it.
  c.tick(kTogether + 1 + kRebalance - 1);
  CHECK(seen.size() == 3);
  c.tick(kTogether + 1 + kRebalance);
  REQUIRE(seen.size() == 4);
  CHECK(seen[3].second.empty());
  CHECK(state_of(c) == "Empty");
}

TEST_CASE("group: a completion may call back in: sync from inside the join completion, cancel of a queued one") {
  group_coordinator c(test_options());
  std::vector<std::string> order;
  std::shared_ptr<sync_seen> sa;
  wire::join_group_request req;
  req.group_id = "g";
  req.session_timeout_ms = kSession;
  req.rebalance_timeout_ms = kRebalance;
  req.protocol_type = "consumer";
  req.protocols = {{"range", "m"}};
  c.join(1, 2, req, "ca", "h", 0, [&](const wire::join_group_response& r) {
    order.push_back("a");
    std::string me(r.member_id);
    // B's connection closes meanwhile, and the leader syncs at once.
    c.cancel(2);
    sa = sync(c, 1, me, r.generation_id, kTogether, {{me, "x"}});
  });
  c.join(2, 2, req, "cb", "h", 0, [&](const wire::join_group_response&) { order.push_back("b"); });
  c.tick(kTogether);
  CHECK(order == std::vector<std::string>{"a"});  // B's answer was queued behind A's, then dropped
  REQUIRE(sa);
  REQUIRE(sa->calls == 1);
  CHECK(sa->assignment == "x");
  CHECK(state_of(c) == "Stable");
}
