// kappa config set|get|list: data-dir settings (max.bytes).
#include <cstdio>

#include "adapters/record_formatter.h"
#include "cli/cli_common.h"
#include "kappa/topic_config.h"

namespace kappa::cli {

void add_config(CLI::App& app, context& ctx) {
  auto* config = app.add_subcommand("config", "data-dir settings: set, get, list (e.g. max.bytes, a disk budget)");
  config->require_subcommand(1);
  static std::vector<std::string> args;
  static std::string key;
  static bool json = false;

  auto* set = config->add_subcommand("set", "set data-dir settings: KEY=VALUE ... (or KEY VALUE)");
  set->add_option("settings", args, "KEY=VALUE pairs")->required();
  set->callback([&] {
    ctx.run = [&] {
      std::vector<std::pair<std::string, std::string>> kvs;
      if (args.size() == 2 && args[0].find('=') == std::string::npos) {
        kvs.push_back({args[0], args[1]});
      } else {
        for (const auto& a : args) {
          auto eq = a.find('=');
          if (eq == std::string::npos) return usage_error("config set takes KEY=VALUE, got '" + a + "'");
          kvs.push_back({a.substr(0, eq), a.substr(eq + 1)});
        }
      }
      for (const auto& [k, v] : kvs) {
        Status st = validate_data_dir_setting(k, v);
        if (!st.ok()) return fail(st);
      }
      int rc = 0;
      auto dd = ctx.open(true, &rc);
      if (!dd) return rc;
      for (const auto& [k, v] : kvs) {
        Status st = dd->set_setting(k, v);
        if (!st.ok()) return fail(st);
        note("set " + k + "=" + v);
      }
      return kExitOk;
    };
  });

  auto* get = config->add_subcommand("get", "print a data-dir setting's value");
  get->add_option("key", key, "setting name")->required();
  get->callback([&] {
    ctx.run = [&] {
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      auto v = dd->setting(key);
      if (!v.ok()) return fail(v.status());
      std::printf("%s\n", v->c_str());
      return kExitOk;
    };
  });

  auto* list = config->add_subcommand("list", "print every data-dir setting as KEY=VALUE");
  list->add_flag("--json", json, "machine-readable output");
  list->callback([&] {
    ctx.run = [&] {
      int rc = 0;
      auto dd = ctx.open(false, &rc);
      if (!dd) return rc;
      std::string out = "{";
      for (const auto& d : data_dir_setting_defs()) {
        auto v = dd->setting(d.name);
        if (!v.ok()) return fail(v.status());
        if (json) {
          if (out.size() > 1) out += ",";
          append_json_string(out, d.name);
          out += ":";
          append_json_string(out, v.value());
        } else {
          std::printf("%s=%s\n", d.name, v->c_str());
        }
      }
      if (json) std::printf("%s}\n", out.c_str());
      return kExitOk;
    };
  });
}

}  // namespace kappa::cli
