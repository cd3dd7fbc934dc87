// The consumer-group coordinator of kappa serve: Kafka's classic group
// protocol (JoinGroup 0-2, SyncGroup/Heartbeat/LeaveGroup 0-1, the member
// checks of OffsetCommit 1-2, ListGroups/DescribeGroups 0-2) for the one
// broker that coordinates every group.
//
// Pure: no I/O, no threads, no clock. The server passes each request with
// the current time and calls tick() when next_tick_ms() says so; state lives
// in memory only (after a restart members get UNKNOWN_MEMBER_ID and rejoin,
// which every client handles). Offsets are not stored here: check_commit()
// says whether a commit may be stored, the server stores it in the catalog.
//
// JoinGroup and SyncGroup may be held (a rebalance waits for members, a
// follower's sync waits for the leader's), so they answer through a
// completion: called exactly once, maybe inside the call, maybe later inside
// another call or tick(), unless cancel(conn) came first. The response a
// completion gets points into storage that lives only during the call: encode
// it there. Completions and the observer may call back into the coordinator
// (a call made from inside one runs the completions queued so far first).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "broker/group_metadata.h"
#include "broker/group_state.h"
#include "wire/messages_group.h"

namespace kappa::broker {

struct group_coordinator_options {
  // Kafka's group.initial.rebalance.delay.ms.
  int64_t initial_rebalance_delay_ms = 3000;
  // Kafka's group.min/max.session.timeout.ms: a JoinGroup outside gets
  // INVALID_SESSION_TIMEOUT.
  int32_t min_session_timeout_ms = 6000;
  int32_t max_session_timeout_ms = 1800000;
};

// One live member as the CLI shows it (`kappa group describe`).
struct live_member {
  std::string member_id;
  std::string client_id;
  std::string client_host;
};

// For ListGroups.
struct group_listing {
  std::string group_id;
  std::string protocol_type;
  std::string_view state;  // group_state_name()
};

// For DescribeGroups. As in Kafka, protocol, metadata and assignment are
// filled only while the group is Stable.
struct group_description {
  struct member {
    std::string member_id;
    std::string client_id;
    std::string client_host;
    std::string metadata;  // for the chosen protocol
    std::string assignment;
  };
  std::string group_id;
  std::string_view state;  // "Dead" for a group the coordinator does not know
  std::string protocol_type;
  std::string protocol;
  std::vector<member> members;
};

class group_coordinator {
 public:
  using options = group_coordinator_options;
  // Called after every change of a group's membership with all its current
  // members (empty when the last one went), so the server can publish who is
  // live for the CLI.
  using membership_observer = std::function<void(std::string_view group_id, const std::vector<live_member>&)>;

  explicit group_coordinator(options opts = {});

  void set_membership_observer(membership_observer observer) { observer_ = std::move(observer); }

  // JoinGroup. version decides only where the rebalance timeout comes from
  // (v0 has none: the session timeout stands in). An empty member id joins
  // as a new member with an id made here.
  void join(uint64_t conn, int16_t version, const wire::join_group_request& req, std::string_view client_id,
            std::string_view client_host, int64_t now_ms, join_callback done);
  // SyncGroup (every version answers the same; throttle time is the caller's).
  void sync(uint64_t conn, const wire::sync_group_request& req, int64_t now_ms, sync_callback done);
  wire::heartbeat_response heartbeat(const wire::heartbeat_request& req, int64_t now_ms);
  wire::leave_group_response leave(const wire::leave_group_request& req, int64_t now_ms);
  // OffsetCommit's checks: 0 when the commit may be stored, else the Kafka
  // error code for every partition of the request.
  int16_t check_commit(std::string_view group_id, int32_t generation, std::string_view member_id, int64_t now_ms);

  std::vector<group_listing> list_groups() const;
  group_description describe_group(std::string_view group_id) const;
  // The group's members now (`kappa group reset` refuses while there are any).
  std::vector<live_member> live_members(std::string_view group_id) const;

  // Expires sessions and ends rebalances that are due; returns next_tick_ms().
  int64_t tick(int64_t now_ms);
  // When tick() has work next; INT64_MAX when nothing waits on time.
  int64_t next_tick_ms() const;
  // Drops the connection's pending completions. Its members stay until their
  // sessions time out, as in Kafka.
  void cancel(uint64_t conn);

 private:
  struct pending {
    uint64_t conn;  // 0: not tied to a connection (the observer)
    std::function<void()> run;
  };

  consumer_group* find_group(std::string_view group_id);
  bool supports_protocols(const consumer_group& g, const wire::join_group_request& req, const group_member* self) const;
  void add_member_and_rebalance(consumer_group& g, uint64_t conn, const wire::join_group_request& req,
                                int32_t rebalance_timeout_ms, std::string_view client_id, std::string_view client_host,
                                int64_t now_ms, join_callback done);
  void update_member_and_rebalance(consumer_group& g, group_member& m, uint64_t conn,
                                   const wire::join_group_request& req, int32_t rebalance_timeout_ms, int64_t now_ms,
                                   join_callback done);
  void prepare_rebalance(consumer_group& g, int64_t now_ms);
  void try_complete_join(consumer_group& g, int64_t now_ms);
  void complete_join(consumer_group& g, int64_t now_ms);
  void remove_member(consumer_group& g, std::string_view member_id, int64_t now_ms);
  std::string select_protocol(const consumer_group& g) const;
  void advance(int64_t now_ms);
  void advance_group(consumer_group& g, int64_t now_ms);

  void reply_join(uint64_t conn, join_callback done, int16_t error, const consumer_group* g, std::string member_id,
                  bool as_leader);
  void reply_sync(uint64_t conn, sync_callback done, int16_t error, std::string assignment);
  void notify_members(const consumer_group& g);
  void flush();

  options options_;
  std::mt19937_64 rng_;
  std::map<std::string, consumer_group, std::less<>> groups_;
  membership_observer observer_;
  // Completions ready to run, in order; run at the end of the public call
  // that made them, after the state is consistent.
  std::deque<pending> ready_;
};

}  // namespace kappa::broker
