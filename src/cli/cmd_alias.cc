// kappa alias set|list|delete: names that readers (consume, sessionize
// --input, group reset, compare) resolve to a topic when they open it, so
// a switch from one output version to the next is one atomic catalog write.
#include <cstdio>

#include "cli/cli_common.h"
#include "kappa/catalog.h"
#include "log/topic_name.h"
#include "util/json_string.h"

namespace kappa::cli {
namespace {

// A job's alias moves with its versions (job cutover), not by hand.
Status refuse_job_alias(catalog& c, const std::string& alias, const char* verb) {
  KAPPA_ASSIGN_OR_RETURN(auto jobs, c.list_jobs());
  for (const auto& j : jobs)
    if (j.base == alias)
      return Status::Busy("alias " + alias + " belongs to job " + j.name + " (it names the version serving readers), " +
                          "so it is not " + verb + " by hand: switch it with kappa job cutover " + j.name +
                          " [--version N], or remove it with kappa job delete " + j.name);
  return Status::OK();
}

}  // namespace

void add_alias(CLI::App& app, context& ctx) {
  auto* alias = app.add_subcommand("alias", "names that readers resolve to a topic at open time");
  alias->require_subcommand(1);
  static std::string name, topic;
  static bool json = false;

  auto* set = alias->add_subcommand("set", "point ALIAS at TOPIC (an existing alias switches atomically)");
  set->add_option("alias", name, "alias name (topic-name rules; not the name of a topic)")->required();
  set->add_option("topic", topic, "the topic it names")->required();
  set->callback([&] {
    ctx.run = [&] {
      if (Status st = validate_topic_name(name); !st.ok())
        return fail(Status::Invalid("invalid alias name '" + name + "': aliases follow topic names' rule (" +
                                    st.message() + ")"));
      if (Status st = validate_topic_name(topic); !st.ok()) return fail(st);
      if (name == topic) return usage_error("an alias cannot name itself");
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      if (!dd->catalog()) return fail(Status::NotFound("topic '" + topic + "' does not exist (the data dir is empty)"));
      Status st = refuse_job_alias(*dd->catalog(), name, "switched");
      if (st.ok()) st = dd->catalog()->set_alias(name, topic);
      if (!st.ok()) return fail(st);
      auto a = dd->catalog()->get_alias(name);
      if (!a.ok()) return fail(a.status());
      std::printf("alias %s -> %s%s\n", name.c_str(), topic.c_str(),
                  a->previous.empty() ? "" : (" (was " + a->previous + ")").c_str());
      return kExitOk;
    };
  });

  auto* list = alias->add_subcommand("list", "list aliases and the topics they name");
  list->add_flag("--json", json, "machine-readable output");
  list->callback([&] {
    ctx.run = [&] {
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      std::vector<alias_entry> all;
      if (dd->catalog()) {
        auto r = dd->catalog()->list_aliases();
        if (!r.ok()) return fail(r.status());
        all = std::move(r.value());
      }
      if (json) {
        std::string s = "[";
        for (size_t i = 0; i < all.size(); i++) {
          s += i ? ",{\"alias\":" : "{\"alias\":";
          append_json_string(s, all[i].name);
          s += ",\"topic\":";
          append_json_string(s, all[i].topic);
          s += ",\"previous\":";
          if (all[i].previous.empty())
            s += "null";
          else
            append_json_string(s, all[i].previous);
          s += ",\"set_timestamp\":" + std::to_string(all[i].set_ms) + "}";
        }
        std::printf("%s]\n", s.c_str());
        return kExitOk;
      }
      for (const auto& a : all)
        std::printf("%s\t%s%s\n", a.name.c_str(), a.topic.c_str(),
                    a.previous.empty() ? "" : ("\t(was " + a.previous + ")").c_str());
      return kExitOk;
    };
  });

  auto* del = alias->add_subcommand("delete", "remove an alias (its topic stays)");
  del->add_option("alias", name, "alias name")->required();
  del->callback([&] {
    ctx.run = [&] {
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      if (!dd->catalog()) return fail(Status::NotFound("alias '" + name + "' does not exist"));
      Status st = refuse_job_alias(*dd->catalog(), name, "deleted");
      if (st.ok()) st = dd->catalog()->delete_alias(name);
      if (!st.ok()) return fail(st);
      note("deleted alias " + name);
      return kExitOk;
    };
  });
}

}  // namespace kappa::cli
