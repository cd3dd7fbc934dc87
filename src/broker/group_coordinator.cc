#include "broker/group_coordinator.h"

#include <algorithm>
#include <utility>

#include "broker/group_error.h"
#include "broker/member_id.h"

namespace kappa::broker {

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// A JoinGroup answer that owns its bytes: completions run after the state
// that produced them may have changed.
struct join_result {
  int16_t error = group_error::kNone;
  int32_t generation = -1;
  std::string protocol;
  std::string leader;
  std::string member_id;
  std::vector<std::pair<std::string, std::string>> members;  // the leader's only
};

}  // namespace

group_coordinator::group_coordinator(options opts) : options_(opts), rng_(std::random_device{}()) {}

consumer_group* group_coordinator::find_group(std::string_view group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

// Kafka's GroupMetadata.supportsProtocols: the joiner must name a protocol
// type and protocols; with other members present, the same type and at least
// one protocol that every one of them supports too.
bool group_coordinator::supports_protocols(const consumer_group& g, const wire::join_group_request& req,
                                           const group_member* self) const {
  if (req.protocol_type.empty() || req.protocols.empty()) return false;
  bool others = false;
  for (const auto& m : g.members)
    if (&m != self) others = true;
  if (!others) return true;
  if (req.protocol_type != g.protocol_type) return false;
  for (const auto& p : req.protocols) {
    bool everyone = true;
    for (const auto& m : g.members)
      if (&m != self && !m.supports(p.name)) everyone = false;
    if (everyone) return true;
  }
  return false;
}

void group_coordinator::join(uint64_t conn, int16_t version, const wire::join_group_request& req,
                             std::string_view client_id, std::string_view client_host, int64_t now_ms,
                             join_callback done) {
  advance(now_ms);
  // v0 has no rebalance timeout: Kafka uses the session timeout for it.
  int32_t rebalance_timeout_ms =
      version == 0 || req.rebalance_timeout_ms < 0 ? req.session_timeout_ms : req.rebalance_timeout_ms;
  auto fail = [&](int16_t error) {
    reply_join(conn, std::move(done), error, nullptr, std::string(req.member_id), false);
  };

  if (req.group_id.empty()) {
    fail(group_error::kInvalidGroupId);
  } else if (req.session_timeout_ms < options_.min_session_timeout_ms ||
             req.session_timeout_ms > options_.max_session_timeout_ms) {
    fail(group_error::kInvalidSessionTimeout);
  } else if (req.member_id.empty()) {
    consumer_group* g = find_group(req.group_id);
    if (g == nullptr) {
      // Checked before the group exists, so a refused join leaves nothing behind.
      if (req.protocol_type.empty() || req.protocols.empty()) {
        fail(group_error::kInconsistentGroupProtocol);
        flush();
        return;
      }
      g = &groups_.emplace(std::string(req.group_id), consumer_group{}).first->second;
      g->group_id = req.group_id;
    }
    if (!supports_protocols(*g, req, nullptr)) {
      fail(group_error::kInconsistentGroupProtocol);
    } else {
      add_member_and_rebalance(*g, conn, req, rebalance_timeout_ms, client_id, client_host, now_ms, std::move(done));
    }
  } else {
    consumer_group* g = find_group(req.group_id);
    group_member* m = g ? g->find(req.member_id) : nullptr;
    if (m == nullptr) {
      fail(group_error::kUnknownMemberId);
    } else if (!supports_protocols(*g, req, m)) {
      fail(group_error::kInconsistentGroupProtocol);
    } else {
      m->last_heartbeat_ms = now_ms;
      switch (g->state) {
        case group_state::preparing_rebalance:
          update_member_and_rebalance(*g, *m, conn, req, rebalance_timeout_ms, now_ms, std::move(done));
          break;
        case group_state::completing_rebalance:
          // A repeated join (its response was lost): answer it again rather
          // than start over, unless the member changed its protocols.
          if (m->same_protocols(req.protocols)) {
            reply_join(conn, std::move(done), group_error::kNone, g, m->member_id, m->member_id == g->leader);
          } else {
            update_member_and_rebalance(*g, *m, conn, req, rebalance_timeout_ms, now_ms, std::move(done));
          }
          break;
        case group_state::stable:
          // The leader rejoins to make a new assignment (say, topics changed),
          // a member to announce new metadata: both rebalance. A follower
          // with nothing new just learns the current generation.
          if (m->member_id == g->leader || !m->same_protocols(req.protocols)) {
            update_member_and_rebalance(*g, *m, conn, req, rebalance_timeout_ms, now_ms, std::move(done));
          } else {
            reply_join(conn, std::move(done), group_error::kNone, g, m->member_id, false);
          }
          break;
        case group_state::empty:
        case group_state::dead:
          // A group with members is never Empty; kept for completeness.
          fail(group_error::kUnknownMemberId);
          break;
      }
    }
  }
  flush();
}

void group_coordinator::add_member_and_rebalance(consumer_group& g, uint64_t conn, const wire::join_group_request& req,
                                                 int32_t rebalance_timeout_ms, std::string_view client_id,
                                                 std::string_view client_host, int64_t now_ms, join_callback done) {
  if (g.members.empty()) g.protocol_type = req.protocol_type;
  group_member m;
  m.member_id = new_member_id(client_id, rng_);
  m.client_id = client_id;
  m.client_host = client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = rebalance_timeout_ms;
  for (const auto& p : req.protocols) m.protocols.push_back({std::string(p.name), std::string(p.metadata)});
  m.last_heartbeat_ms = now_ms;
  m.awaiting_join = true;
  m.join_conn = conn;
  m.join_done = std::move(done);
  if (g.leader.empty()) g.leader = m.member_id;
  g.members.push_back(std::move(m));
  g.new_member_added = true;
  notify_members(g);
  if (g.state != group_state::preparing_rebalance) prepare_rebalance(g, now_ms);
  try_complete_join(g, now_ms);
}

void group_coordinator::update_member_and_rebalance(consumer_group& g, group_member& m, uint64_t conn,
                                                    const wire::join_group_request& req, int32_t rebalance_timeout_ms,
                                                    int64_t now_ms, join_callback done) {
  // A second join while the first is still held: the first one is answered
  // so that every completion runs exactly once.
  if (m.join_done) {
    reply_join(m.join_conn, std::move(m.join_done), group_error::kRebalanceInProgress, nullptr, m.member_id, false);
  }
  m.protocols.clear();
  for (const auto& p : req.protocols) m.protocols.push_back({std::string(p.name), std::string(p.metadata)});
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = rebalance_timeout_ms;
  m.awaiting_join = true;
  m.join_conn = conn;
  m.join_done = std::move(done);
  if (g.state != group_state::preparing_rebalance) prepare_rebalance(g, now_ms);
  try_complete_join(g, now_ms);
}

void group_coordinator::prepare_rebalance(consumer_group& g, int64_t now_ms) {
  // Syncs held for the generation being abandoned learn to rejoin.
  if (g.state == group_state::completing_rebalance) {
    for (auto& m : g.members) {
      m.assignment.clear();
      if (m.awaiting_sync) {
        m.awaiting_sync = false;
        m.last_heartbeat_ms = now_ms;
        if (m.sync_done) reply_sync(m.sync_conn, std::move(m.sync_done), group_error::kRebalanceInProgress, {});
        m.sync_done = nullptr;
      }
    }
  }
  bool was_empty = g.state == group_state::empty;
  g.state = group_state::preparing_rebalance;
  int64_t timeout = g.rebalance_timeout_ms();
  if (was_empty && options_.initial_rebalance_delay_ms > 0) {
    int64_t delay = std::min(options_.initial_rebalance_delay_ms, timeout);
    g.in_initial_delay = true;
    g.new_member_added = false;
    g.initial_delay_remaining_ms = timeout - delay;
    g.rebalance_deadline_ms = now_ms + delay;
  } else {
    g.in_initial_delay = false;
    g.rebalance_deadline_ms = now_ms + timeout;
  }
}

void group_coordinator::try_complete_join(consumer_group& g, int64_t now_ms) {
  // The initial delay is waited out even when everyone is in: more
  // consumers of the same start-up may still come.
  if (g.state == group_state::preparing_rebalance && !g.in_initial_delay && g.all_joined()) complete_join(g, now_ms);
}

// The leader's choice: the first of its protocols that every member supports.
std::string group_coordinator::select_protocol(const consumer_group& g) const {
  const group_member* leader = nullptr;
  for (const auto& m : g.members)
    if (m.member_id == g.leader) leader = &m;
  if (leader == nullptr) leader = &g.members.front();
  for (const auto& p : leader->protocols) {
    bool everyone = true;
    for (const auto& m : g.members)
      if (!m.supports(p.name)) everyone = false;
    if (everyone) return p.name;
  }
  // Joins are refused unless a common protocol remains, so this is not reached.
  return leader->protocols.empty() ? std::string() : leader->protocols.front().name;
}

void group_coordinator::complete_join(consumer_group& g, int64_t now_ms) {
  // Members that did not rejoin in time are out of the new generation.
  size_t before = g.members.size();
  std::erase_if(g.members, [](const group_member& m) { return !m.awaiting_join; });
  if (g.members.size() != before) notify_members(g);
  if (g.find(g.leader) == nullptr) g.leader = g.members.empty() ? std::string() : g.members.front().member_id;

  g.in_initial_delay = false;
  g.new_member_added = false;
  g.rebalance_deadline_ms = kNever;
  ++g.generation;
  if (g.members.empty()) {
    g.state = group_state::empty;
    g.protocol.clear();
    return;
  }
  g.protocol = select_protocol(g);
  g.state = group_state::completing_rebalance;
  for (auto& m : g.members) {
    m.awaiting_join = false;
    m.last_heartbeat_ms = now_ms;  // the session timer starts over with the new generation
    if (m.join_done)
      reply_join(m.join_conn, std::move(m.join_done), group_error::kNone, &g, m.member_id, m.member_id == g.leader);
    m.join_done = nullptr;
  }
}

void group_coordinator::sync(uint64_t conn, const wire::sync_group_request& req, int64_t now_ms, sync_callback done) {
  advance(now_ms);
  consumer_group* g = req.group_id.empty() ? nullptr : find_group(req.group_id);
  group_member* m = g ? g->find(req.member_id) : nullptr;
  if (req.group_id.empty()) {
    reply_sync(conn, std::move(done), group_error::kInvalidGroupId, {});
  } else if (m == nullptr) {
    reply_sync(conn, std::move(done), group_error::kUnknownMemberId, {});
  } else if (req.generation_id != g->generation) {
    reply_sync(conn, std::move(done), group_error::kIllegalGeneration, {});
  } else if (g->state == group_state::preparing_rebalance) {
    reply_sync(conn, std::move(done), group_error::kRebalanceInProgress, {});
  } else if (g->state == group_state::stable) {
    m->last_heartbeat_ms = now_ms;
    reply_sync(conn, std::move(done), group_error::kNone, m->assignment);
  } else if (g->state == group_state::completing_rebalance) {
    m->last_heartbeat_ms = now_ms;
    if (m->sync_done) reply_sync(m->sync_conn, std::move(m->sync_done), group_error::kRebalanceInProgress, {});
    m->awaiting_sync = true;
    m->sync_conn = conn;
    m->sync_done = std::move(done);
    if (m->member_id == g->leader) {
      // Assignments for members not in the group are ignored; a member the
      // leader left out gets empty bytes, as in Kafka.
      for (auto& member : g->members) {
        member.assignment.clear();
        for (const auto& a : req.assignments)
          if (a.member_id == member.member_id) member.assignment = a.assignment;
      }
      g->state = group_state::stable;
      for (auto& member : g->members) {
        if (!member.awaiting_sync) continue;
        member.awaiting_sync = false;
        member.last_heartbeat_ms = now_ms;
        if (member.sync_done)
          reply_sync(member.sync_conn, std::move(member.sync_done), group_error::kNone, member.assignment);
        member.sync_done = nullptr;
      }
    }
  } else {
    reply_sync(conn, std::move(done), group_error::kUnknownMemberId, {});
  }
  flush();
}

wire::heartbeat_response group_coordinator::heartbeat(const wire::heartbeat_request& req, int64_t now_ms) {
  advance(now_ms);
  wire::heartbeat_response resp;
  consumer_group* g = req.group_id.empty() ? nullptr : find_group(req.group_id);
  group_member* m = g ? g->find(req.member_id) : nullptr;
  if (req.group_id.empty()) {
    resp.error_code = group_error::kInvalidGroupId;
  } else if (m == nullptr) {
    resp.error_code = group_error::kUnknownMemberId;
  } else if (req.generation_id != g->generation) {
    resp.error_code = group_error::kIllegalGeneration;
  } else {
    m->last_heartbeat_ms = now_ms;
    // In CompletingRebalance a member may heartbeat between its join and
    // sync: that is fine (Kafka since 2.x answers NONE there too).
    if (g->state == group_state::preparing_rebalance) resp.error_code = group_error::kRebalanceInProgress;
  }
  flush();
  return resp;
}

wire::leave_group_response group_coordinator::leave(const wire::leave_group_request& req, int64_t now_ms) {
  advance(now_ms);
  wire::leave_group_response resp;
  consumer_group* g = req.group_id.empty() ? nullptr : find_group(req.group_id);
  if (req.group_id.empty()) {
    resp.error_code = group_error::kInvalidGroupId;
  } else if (g == nullptr || g->find(req.member_id) == nullptr) {
    resp.error_code = group_error::kUnknownMemberId;
  } else {
    remove_member(*g, req.member_id, now_ms);
  }
  flush();
  return resp;
}

int16_t group_coordinator::check_commit(std::string_view group_id, int32_t generation, std::string_view member_id,
                                        int64_t now_ms) {
  advance(now_ms);
  int16_t error = group_error::kNone;
  consumer_group* g = group_id.empty() ? nullptr : find_group(group_id);
  group_member* m = g ? g->find(member_id) : nullptr;
  if (group_id.empty()) {
    error = group_error::kInvalidGroupId;
  } else if (g == nullptr || g->members.empty()) {
    // Generation -1 is a client that manages partitions itself (Java's
    // assign(), Flink): allowed while no member could own them. A
    // generation from a group this coordinator does not know (a restart)
    // makes the member rejoin.
    if (generation >= 0) error = g == nullptr ? group_error::kIllegalGeneration : group_error::kUnknownMemberId;
  } else if (m == nullptr) {
    error = group_error::kUnknownMemberId;
  } else if (generation != g->generation) {
    error = group_error::kIllegalGeneration;
  } else if (g->state == group_state::completing_rebalance) {
    // Its partitions are being reassigned; it commits again after sync.
    error = group_error::kRebalanceInProgress;
  } else {
    // Stable, or PreparingRebalance with the old generation: members commit
    // what they processed before they rejoin.
    m->last_heartbeat_ms = now_ms;
  }
  flush();
  return error;
}

void group_coordinator::remove_member(consumer_group& g, std::string_view member_id, int64_t now_ms) {
  auto it =
      std::find_if(g.members.begin(), g.members.end(), [&](const group_member& m) { return m.member_id == member_id; });
  if (it == g.members.end()) return;
  if (it->join_done)
    reply_join(it->join_conn, std::move(it->join_done), group_error::kUnknownMemberId, nullptr, it->member_id, false);
  if (it->sync_done) reply_sync(it->sync_conn, std::move(it->sync_done), group_error::kUnknownMemberId, {});
  bool was_leader = it->member_id == g.leader;
  g.members.erase(it);
  if (was_leader) {
    // Prefer a member that already rejoined: it will see the leader's view.
    g.leader.clear();
    for (const auto& m : g.members)
      if (m.awaiting_join) {
        g.leader = m.member_id;
        break;
      }
    if (g.leader.empty() && !g.members.empty()) g.leader = g.members.front().member_id;
  }
  notify_members(g);
  if (g.state == group_state::stable || g.state == group_state::completing_rebalance) prepare_rebalance(g, now_ms);
  try_complete_join(g, now_ms);
}

// Processes the due events of each group in the order of their due times,
// so a late tick() removes the same members. What they start for clients (a
// rebalance's deadline, a new generation's session timers) starts now: a
// client can only react from the moment it hears about it.
void group_coordinator::advance(int64_t now_ms) {
  for (auto& [id, g] : groups_) advance_group(g, now_ms);
}

void group_coordinator::advance_group(consumer_group& g, int64_t now_ms) {
  for (;;) {
    int64_t t = kNever;
    const group_member* expired = nullptr;
    for (const auto& m : g.members) {
      int64_t d = m.session_deadline_ms();
      if (d < t) t = d, expired = &m;
    }
    bool rebalance_due = false;
    if (g.state == group_state::preparing_rebalance && g.rebalance_deadline_ms <= t) {
      t = g.rebalance_deadline_ms;
      rebalance_due = true;
    }
    if (t > now_ms) return;
    if (rebalance_due) {
      if (g.in_initial_delay && g.new_member_added && g.initial_delay_remaining_ms > 0) {
        int64_t delay = std::min(options_.initial_rebalance_delay_ms, g.initial_delay_remaining_ms);
        g.initial_delay_remaining_ms -= delay;
        g.new_member_added = false;
        g.rebalance_deadline_ms = t + delay;  // an internal timer: kept on its schedule
      } else {
        complete_join(g, now_ms);
      }
    } else {
      std::string member_id = expired->member_id;
      remove_member(g, member_id, now_ms);
    }
  }
}

int64_t group_coordinator::tick(int64_t now_ms) {
  advance(now_ms);
  flush();
  return next_tick_ms();
}

int64_t group_coordinator::next_tick_ms() const {
  int64_t t = kNever;
  for (const auto& [id, g] : groups_) {
    for (const auto& m : g.members) t = std::min(t, m.session_deadline_ms());
    if (g.state == group_state::preparing_rebalance) t = std::min(t, g.rebalance_deadline_ms);
  }
  return t;
}

void group_coordinator::cancel(uint64_t conn) {
  for (auto& [id, g] : groups_) {
    for (auto& m : g.members) {
      if (m.join_done && m.join_conn == conn) m.join_done = nullptr;
      if (m.sync_done && m.sync_conn == conn) m.sync_done = nullptr;
    }
  }
  // A completion queued by the current call (this cancel runs inside another
  // completion) is dropped too.
  std::erase_if(ready_, [&](const pending& p) { return p.conn != 0 && p.conn == conn; });
}

std::vector<group_listing> group_coordinator::list_groups() const {
  std::vector<group_listing> out;
  for (const auto& [id, g] : groups_) out.push_back({g.group_id, g.protocol_type, group_state_name(g.state)});
  return out;
}

group_description group_coordinator::describe_group(std::string_view group_id) const {
  group_description d;
  d.group_id = group_id;
  auto it = groups_.find(group_id);
  if (it == groups_.end()) {
    d.state = group_state_name(group_state::dead);
    return d;
  }
  const consumer_group& g = it->second;
  d.state = group_state_name(g.state);
  d.protocol_type = g.protocol_type;
  bool stable = g.state == group_state::stable;
  if (stable) d.protocol = g.protocol;
  for (const auto& m : g.members) {
    group_description::member dm{m.member_id, m.client_id, m.client_host, {}, {}};
    if (stable) {
      if (const std::string* md = m.metadata_for(g.protocol)) dm.metadata = *md;
      dm.assignment = m.assignment;
    }
    d.members.push_back(std::move(dm));
  }
  return d;
}

std::vector<live_member> group_coordinator::live_members(std::string_view group_id) const {
  std::vector<live_member> out;
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return out;
  for (const auto& m : it->second.members) out.push_back({m.member_id, m.client_id, m.client_host});
  return out;
}

void group_coordinator::reply_join(uint64_t conn, join_callback done, int16_t error, const consumer_group* g,
                                   std::string member_id, bool as_leader) {
  if (!done) return;
  join_result r;
  r.error = error;
  r.member_id = std::move(member_id);
  if (g != nullptr) {
    r.generation = g->generation;
    r.protocol = g->protocol;
    r.leader = g->leader;
    if (as_leader) {
      for (const auto& m : g->members) {
        const std::string* md = m.metadata_for(g->protocol);
        r.members.emplace_back(m.member_id, md ? *md : std::string());
      }
    }
  }
  ready_.push_back({conn, [done = std::move(done), r = std::move(r)] {
                      wire::join_group_response resp;
                      resp.error_code = r.error;
                      resp.generation_id = r.generation;
                      resp.protocol_name = r.protocol;
                      resp.leader = r.leader;
                      resp.member_id = r.member_id;
                      for (const auto& [id, md] : r.members) resp.members.push_back({id, md});
                      done(resp);
                    }});
}

void group_coordinator::reply_sync(uint64_t conn, sync_callback done, int16_t error, std::string assignment) {
  if (!done) return;
  ready_.push_back({conn, [done = std::move(done), error, a = std::move(assignment)] {
                      wire::sync_group_response resp;
                      resp.error_code = error;
                      resp.assignment = a;
                      done(resp);
                    }});
}

void group_coordinator::notify_members(const consumer_group& g) {
  if (!observer_) return;
  std::vector<live_member> members;
  for (const auto& m : g.members) members.push_back({m.member_id, m.client_id, m.client_host});
  ready_.push_back({0, [this, id = g.group_id, members = std::move(members)] {
                      if (observer_) observer_(id, members);
                    }});
}

void group_coordinator::flush() {
  // One at a time from the front: a completion may call back in, queue more
  // or cancel queued ones.
  while (!ready_.empty()) {
    pending p = std::move(ready_.front());
    ready_.pop_front();
    p.run();
  }
}

}  // namespace kappa::broker
