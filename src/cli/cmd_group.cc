// kappa group list|describe|reset|delete
#include <cstdio>

#include "adapters/record_formatter.h"
#include "catalog/group_lag.h"
#include "cli/cli_common.h"
#include "kappa/catalog.h"
#include "log/topic_name.h"

namespace kappa::cli {
namespace {

// The group's live members, if a kappa serve runs on this data dir and
// coordinates the group now; *server says which server.
Result<std::vector<live_group_member>> live_members_of(data_dir& dd, const std::string& group, std::string* server) {
  *server = dd.served_by();
  if (server->empty() || !dd.catalog()) return std::vector<live_group_member>{};
  return dd.catalog()->live_members(group);
}

std::string member_list(const std::vector<live_group_member>& members) {
  std::string s;
  for (const auto& m : members) {
    if (!s.empty()) s += ", ";
    s += m.member_id + " (client " + m.client_id + " at " + m.client_host + ")";
  }
  return s;
}

// Kafka's kafka-consumer-groups refuses to reset or delete a group that
// has members: their positions would overwrite what it writes.
Status refuse_if_live(data_dir& dd, const std::string& group, const char* what) {
  std::string server;
  KAPPA_ASSIGN_OR_RETURN(auto members, live_members_of(dd, group, &server));
  if (members.empty()) return Status::OK();
  return Status::Busy("group " + group + " has " + std::to_string(members.size()) + " live member" +
                      (members.size() == 1 ? "" : "s") + " in kappa serve (" + server + "): " + member_list(members) +
                      "; stop them before you " + what + " it");
}

}  // namespace

void add_group(CLI::App& app, context& ctx) {
  auto* group = app.add_subcommand("group", "list, describe, reset and delete consumer groups");
  group->require_subcommand(1);
  static std::string name, topic, to;
  static bool json = false;

  auto* list = group->add_subcommand("list", "list groups with committed offsets");
  list->callback([&] {
    ctx.run = [&] {
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      if (!dd->catalog()) return kExitOk;
      auto gs = dd->catalog()->list_groups();
      if (!gs.ok()) return fail(gs.status());
      for (const auto& g : gs.value()) std::printf("%s\n", g.c_str());
      return kExitOk;
    };
  });

  auto* describe = group->add_subcommand("describe", "committed offsets and lag per topic and partition");
  describe->add_option("group", name, "group name")->required();
  describe->add_flag("--json", json, "machine-readable output");
  describe->callback([&] {
    ctx.run = [&] {
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      std::vector<group_offset> offs;
      if (dd->catalog()) {
        auto r = dd->catalog()->group_offsets(name);
        if (!r.ok()) return fail(r.status());
        offs = std::move(r.value());
      }
      std::string server;
      auto live = live_members_of(*dd, name, &server);
      if (!live.ok()) return fail(live.status());
      const auto& members = live.value();
      if (offs.empty() && members.empty())
        return fail(
            Status::NotFound("group '" + name + "' has no committed offsets (kappa group list shows the groups)"));
      std::vector<group_lag> rows;
      for (const auto& g : offs) {
        auto row = group_lag_of(*dd, g, now_ms());
        if (!row.ok()) return fail(row.status());
        rows.push_back(row.value());
      }
      if (json) {
        std::string s = "{\"group\":";
        append_json_string(s, name);
        s += ",\"partitions\":[";
        for (size_t i = 0; i < rows.size(); i++) {
          const auto& r = rows[i];
          s += i ? ",{\"topic\":" : "{\"topic\":";
          append_json_string(s, r.g.topic);
          s += ",\"partition\":" + std::to_string(r.g.partition) +
               ",\"committed_offset\":" + std::to_string(r.g.offset) + ",\"log_end_offset\":" + std::to_string(r.end) +
               ",\"lag\":" + std::to_string(r.lag) + ",\"lag_ms\":" + std::to_string(r.lag_ms) +
               ",\"commit_timestamp\":" + std::to_string(r.g.commit_time_ms) + "}";
        }
        s += "],\"members\":[";
        for (size_t i = 0; i < members.size(); i++) {
          s += i ? ",{\"member_id\":" : "{\"member_id\":";
          append_json_string(s, members[i].member_id);
          s += ",\"client_id\":";
          append_json_string(s, members[i].client_id);
          s += ",\"client_host\":";
          append_json_string(s, members[i].client_host);
          s += "}";
        }
        std::printf("%s]}\n", s.c_str());
        return kExitOk;
      }
      std::printf("%-24s %9s %16s %14s %10s %12s\n", "topic", "partition", "committed_offset", "log_end_offset", "lag",
                  "lag_ms");
      for (const auto& r : rows)
        std::printf("%-24s %9d %16lld %14lld %10lld %12lld\n", r.g.topic.c_str(), r.g.partition, (long long)r.g.offset,
                    (long long)r.end, (long long)r.lag, (long long)r.lag_ms);
      if (!members.empty()) {
        std::printf("\nlive members (kappa serve, %s):\n%-48s %-24s %s\n", server.c_str(), "member_id", "client_id",
                    "client_host");
        for (const auto& m : members)
          std::printf("%-48s %-24s %s\n", m.member_id.c_str(), m.client_id.c_str(), m.client_host.c_str());
      }
      return kExitOk;
    };
  });

  auto* reset = group->add_subcommand("reset", "move a group's committed offsets for a topic");
  reset->add_option("group", name, "group name")->required();
  reset->add_option("--topic", topic, "topic (or alias) whose offsets to move")->required();
  reset->add_option("--to", to, "earliest, latest, OFFSET, -N or @TIMESTAMP_MS")->required();
  reset->callback([&] {
    ctx.run = [&] {
      Status st = validate_topic_name(topic);
      if (!st.ok()) return fail(st);
      auto spec = parse_start(to, "--to");
      if (!spec.ok()) return fail(spec.status());
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      auto t = dd->resolve_topic(topic);  // an alias: the topic it points to now
      if (!t.ok()) return fail(t.status());
      // A stream job's offsets belong with its window state: moving them
      // alone would pair state with the wrong input.
      if (auto job = dd->catalog()->job_definition_of(name); job.ok())
        return fail(Status::Invalid("group " + name + " is the checkpoint of a stream job reading " + job->input +
                                    "; its offsets move only with its window state: start the job over with "
                                    "`kappa group delete " + name + "`, or run it into a new output topic"));
      st = refuse_if_live(*dd, name, "reset");
      if (!st.ok()) return fail(st);
      std::vector<std::pair<int32_t, int64_t>> offs;
      for (int32_t p = 0; p < t->partitions; p++) {
        auto r = dd->open_reader(t.value(), p);
        if (!r.ok()) return fail(r.status());
        auto end = r.value()->log_end_offset();
        if (!end.ok()) return fail(end.status());
        int64_t start = r.value()->log_start_offset(), off = 0;
        switch (spec->k) {
          case start_spec::earliest: off = start; break;
          case start_spec::latest: off = end.value(); break;
          case start_spec::offset: off = std::clamp(spec->v, start, end.value()); break;
          case start_spec::from_end: off = std::max(start, end.value() - spec->v); break;
          case start_spec::timestamp: {
            st = r.value()->seek_to_timestamp(spec->v);
            if (!st.ok()) return fail(st);
            record_view rec;
            auto n = r.value()->next(&rec);
            if (!n.ok()) return fail(n.status());
            off = n.value() == partition_reader::status::record ? rec.offset : end.value();
          }
        }
        offs.push_back({p, off});
      }
      st = dd->catalog()->commit_offsets(name, t->name, offs);
      if (!st.ok()) return fail(st);
      for (const auto& [p, off] : offs) std::printf("%s\t%d\t%lld\n", t->name.c_str(), p, (long long)off);
      return kExitOk;
    };
  });

  auto* del = group->add_subcommand("delete", "forget a group's committed offsets");
  del->add_option("group", name, "group name")->required();
  del->callback([&] {
    ctx.run = [&] {
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      if (!dd->catalog()) return fail(Status::NotFound("group '" + name + "' has no committed offsets"));
      Status st = refuse_if_live(*dd, name, "delete");
      if (!st.ok()) return fail(st);
      st = dd->catalog()->delete_group(name);
      if (!st.ok()) return fail(st);
      note("deleted group " + name + " (with its stream-job checkpoint, if it had one)");
      return kExitOk;
    };
  });
}

}  // namespace kappa::cli
