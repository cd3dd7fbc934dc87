#include "kappa/catalog.h"

#include <chrono>
#include <map>
#include <sstream>

#include "catalog/catalog_env.h"
#include "io/file.h"
#include "util/big_endian.h"
#include "util/clock.h"

namespace kappa {

using namespace catalog_detail;

namespace {

// topic value: "partitions=N\ncreated=MS\n" then "key=value\n" per explicit config.
std::string encode_topic(const topic_meta& t) {
  std::string s = "partitions=" + std::to_string(t.partitions) + "\ncreated=" + std::to_string(t.created_ms) + "\n";
  for (const auto& [k, v] : t.config.explicit_settings()) s += k + "=" + v + "\n";
  return s;
}

topic_meta decode_topic(const std::string& name, const std::string& s) {
  topic_meta t;
  t.name = name;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "partitions")
      t.partitions = std::stoi(v);
    else if (k == "created")
      t.created_ms = std::stoll(v);
    else
      t.config.set(k, v);
  }
  return t;
}

// group key: group \0 topic \0 partition (4 bytes, big-endian, so keys sort).
std::string group_key(const std::string& g, const std::string& t, int32_t p) {
  std::string k = g;
  k += '\0';
  k += t;
  k += '\0';
  char b[4];
  be::store32(b, static_cast<uint32_t>(p));
  k.append(b, 4);
  return k;
}

// Checkpoint keys: job \0 kind [partition (4 bytes, big-endian) [key digest]].
//   'd' the job's definition: input topic, newline, options text
//   'p' a partition's checkpoint: kCheckpointFields 8-byte big-endian fields
//   's' partition, checkpoint number (8 bytes): a blob of the state chain
std::string checkpoint_key(const std::string& job, char kind, int32_t partition = -1) {
  std::string k = job;
  k += '\0';
  k += kind;
  if (partition >= 0) {
    char b[4];
    be::store32(b, static_cast<uint32_t>(partition));
    k.append(b, 4);
  }
  return k;
}

// 18 fields; a catalog written before last_record_timestamp and
// record_watermark holds 16, one before run_started_ms and run_events 14
// (the fields it lacks read as their defaults).
constexpr size_t kCheckpointFields = 18, kCheckpointFieldsBeforeIdle = 16, kCheckpointFieldsBeforeRuns = 14;

std::string encode_checkpoint(const partition_checkpoint& cp) {
  const uint64_t f[kCheckpointFields] = {static_cast<uint64_t>(cp.input_next), static_cast<uint64_t>(cp.watermark),
                                         static_cast<uint64_t>(cp.output_end), static_cast<uint64_t>(cp.late_end),
                                         cp.events, cp.sessions, cp.late, cp.malformed, cp.open_sessions,
                                         cp.checkpoints, static_cast<uint64_t>(cp.time_ms), cp.state_bytes,
                                         cp.full_bytes, 0, static_cast<uint64_t>(cp.run_started_ms), cp.run_events,
                                         static_cast<uint64_t>(cp.last_record_timestamp),
                                         static_cast<uint64_t>(cp.record_watermark)};
  std::string s(kCheckpointFields * 8, '\0');
  for (size_t i = 0; i < kCheckpointFields; i++) be::store64(s.data() + i * 8, f[i]);
  return s;
}

bool decode_checkpoint(int32_t partition, const MDB_val& v, partition_checkpoint* cp) {
  size_t n = v.mv_size / 8;
  if (v.mv_size % 8 ||
      (n != kCheckpointFields && n != kCheckpointFieldsBeforeIdle && n != kCheckpointFieldsBeforeRuns))
    return false;
  uint64_t f[kCheckpointFields] = {};
  f[16] = f[17] = static_cast<uint64_t>(INT64_MIN);
  for (size_t i = 0; i < n; i++) f[i] = be::load64(static_cast<const char*>(v.mv_data) + i * 8);
  *cp = partition_checkpoint{partition,
                             static_cast<int64_t>(f[0]),
                             static_cast<int64_t>(f[1]),
                             static_cast<int64_t>(f[2]),
                             static_cast<int64_t>(f[3]),
                             f[4],
                             f[5],
                             f[6],
                             f[7],
                             f[8],
                             f[9],
                             static_cast<int64_t>(f[10]),
                             f[11],
                             f[12],
                             static_cast<int64_t>(f[14]),
                             f[15],
                             static_cast<int64_t>(f[16]),
                             static_cast<int64_t>(f[17])};
  return true;
}


// alias value: topic \n previous topic \n time set (ms).
std::string encode_alias(const alias_entry& a) {
  return a.topic + "\n" + a.previous + "\n" + std::to_string(a.set_ms);
}

alias_entry decode_alias(const std::string& name, const MDB_val& v) {
  alias_entry a;
  a.name = name;
  std::string s = str(v);
  size_t n1 = s.find('\n'), n2 = n1 == std::string::npos ? n1 : s.find('\n', n1 + 1);
  a.topic = s.substr(0, n1);
  if (n1 != std::string::npos) a.previous = s.substr(n1 + 1, n2 == std::string::npos ? n2 : n2 - n1 - 1);
  if (n2 != std::string::npos) a.set_ms = std::strtoll(s.c_str() + n2 + 1, nullptr, 10);
  return a;
}

// A topic an alias points to stays: readers of the alias would find nothing.
Status refuse_aliased(MDB_txn* t, MDB_dbi aliases, const std::string& topic) {
  MDB_cursor* c;
  int rc = mdb_cursor_open(t, aliases, &c);
  if (rc) return lmdb_error("cursor", rc);
  MDB_val k, v;
  std::string holder;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && holder.empty(); rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    if (decode_alias(str(k), v).topic == topic) holder = str(k);
  mdb_cursor_close(c);
  if (!holder.empty())
    return Status::Busy("topic " + topic + " is what alias " + holder +
                        " points to, so its readers still need it; point the alias elsewhere (kappa alias set " +
                        holder + " TOPIC) or delete it (kappa alias delete " + holder + ") first");
  return Status::OK();
}

// Puts alias -> topic in transaction t: Exists if a topic has the alias's
// name, NotFound if the target is no topic.
Status put_alias(MDB_txn* t, MDB_dbi topics, MDB_dbi aliases, const std::string& alias, const std::string& topic) {
  MDB_val ak = val(alias), tk = val(topic), v;
  if (mdb_get(t, topics, &ak, &v) == 0)
    return Status::Exists("'" + alias + "' is a topic; an alias never shadows a topic, so choose another alias name");
  int rc = mdb_get(t, topics, &tk, &v);
  if (rc == MDB_NOTFOUND && mdb_get(t, aliases, &tk, &v) == 0)
    return Status::NotFound("alias " + alias + " cannot point to '" + topic + "': that is an alias (of topic " +
                            decode_alias(topic, v).topic + "), and an alias names a topic, never another alias");
  if (rc == MDB_NOTFOUND)
    return Status::NotFound("alias " + alias + " cannot point to topic '" + topic +
                            "': it does not exist (kappa topic list shows the topics)");
  if (rc) return lmdb_error("read topic " + topic, rc);
  alias_entry a{alias, topic, "", wall_clock_ms()};
  if (mdb_get(t, aliases, &ak, &v) == 0) {
    alias_entry old = decode_alias(alias, v);
    a.previous = old.topic == topic ? old.previous : old.topic;
  }
  std::string value = encode_alias(a);
  MDB_val nv = val(value);
  if ((rc = mdb_put(t, aliases, &ak, &nv, 0))) return lmdb_error("set alias " + alias, rc);
  return Status::OK();
}

// job value: "key=value" lines; a version's lines are prefixed "vN.".
std::string encode_job(const job_record& j) {
  std::string s = "kind=" + j.kind + "\nbase=" + j.base + "\nserving=" + std::to_string(j.serving) +
                  "\ncreated=" + std::to_string(j.created_ms) + "\n";
  for (const auto& v : j.versions) {
    std::string p(1, 'v');
    p += std::to_string(v.number);
    p += '.';
    s += p + "created=" + std::to_string(v.created_ms) + "\n" + p + "caught_up=" + (v.caught_up ? "1" : "0") + "\n";
    size_t pos = 0;
    while (pos < v.options.size()) {
      size_t nl = v.options.find('\n', pos);
      if (nl == std::string::npos) nl = v.options.size();
      if (nl > pos) s += p + "opt." + v.options.substr(pos, nl - pos) + "\n";
      pos = nl + 1;
    }
  }
  return s;
}

Result<job_record> decode_job(const std::string& name, const std::string& s) {
  job_record j;
  j.name = name;
  auto bad = [&] { return Status::Corruption("the catalog entry of job " + name + " is damaged"); };
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    std::string line = s.substr(pos, nl - pos);
    pos = nl + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "kind") {
      j.kind = v;
    } else if (k == "base") {
      j.base = v;
    } else if (k == "serving") {
      j.serving = static_cast<int32_t>(std::strtol(v.c_str(), nullptr, 10));
    } else if (k == "created") {
      j.created_ms = std::strtoll(v.c_str(), nullptr, 10);
    } else if (k.size() > 2 && k[0] == 'v') {
      size_t dot = k.find('.');
      if (dot == std::string::npos) return bad();
      long n = std::strtol(k.c_str() + 1, nullptr, 10);
      if (n < 1 || n > static_cast<long>(j.versions.size()) + 1) return bad();
      if (n == static_cast<long>(j.versions.size()) + 1) {
        j.versions.emplace_back();
        j.versions.back().number = static_cast<int32_t>(n);
      }
      job_version& ver = j.versions[n - 1];
      std::string field = k.substr(dot + 1);
      if (field == "created")
        ver.created_ms = std::strtoll(v.c_str(), nullptr, 10);
      else if (field == "caught_up")
        ver.caught_up = v == "1";
      else if (field.rfind("opt.", 0) == 0)
        ver.options += field.substr(4) + "=" + v + "\n";
    }
  }
  if (j.versions.empty() || j.serving < 1 || j.serving > static_cast<int32_t>(j.versions.size())) return bad();
  return j;
}

}  // namespace

catalog::catalog(std::unique_ptr<env> e) : env_(std::move(e)) {}
catalog::~catalog() = default;

Result<std::unique_ptr<catalog>> catalog::open(const std::string& meta_dir, bool create) {
  if (!path_exists(meta_dir + "/data.mdb")) {
    if (!create) return Status::NotFound("no catalog at " + meta_dir);
    KAPPA_RETURN_IF_ERROR(make_dirs(meta_dir));
  }
  auto e = std::make_unique<env>();
  int rc = mdb_env_create(&e->e);
  if (rc) return lmdb_error("create", rc);
  mdb_env_set_maxdbs(e->e, 16);
  mdb_env_set_mapsize(e->e, kMapSize);
  rc = mdb_env_open(e->e, meta_dir.c_str(), MDB_NOTLS, 0644);
  if (rc) return lmdb_error("open " + meta_dir, rc);
  txn t(e->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  if ((rc = mdb_dbi_open(t.get(), "topics", MDB_CREATE, &e->topics))) return lmdb_error("open topics", rc);
  if ((rc = mdb_dbi_open(t.get(), "groups", MDB_CREATE, &e->groups))) return lmdb_error("open groups", rc);
  if ((rc = mdb_dbi_open(t.get(), "settings", MDB_CREATE, &e->settings))) return lmdb_error("open settings", rc);
  if ((rc = mdb_dbi_open(t.get(), "checkpoints", MDB_CREATE, &e->checkpoints)))
    return lmdb_error("open checkpoints", rc);
  if ((rc = mdb_dbi_open(t.get(), "aliases", MDB_CREATE, &e->aliases))) return lmdb_error("open aliases", rc);
  if ((rc = mdb_dbi_open(t.get(), "jobs", MDB_CREATE, &e->jobs))) return lmdb_error("open jobs", rc);
  if ((rc = mdb_dbi_open(t.get(), "live_members", MDB_CREATE, &e->live))) return lmdb_error("open live_members", rc);
  if ((rc = mdb_dbi_open(t.get(), "mirrors", MDB_CREATE, &e->mirrors))) return lmdb_error("open mirrors", rc);
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return std::unique_ptr<catalog>(new catalog(std::move(e)));
}

Result<topic_meta> catalog::get_topic(const std::string& name) {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_val k = val(name), v;
  int rc = mdb_get(t.get(), env_->topics, &k, &v);
  if (rc == MDB_NOTFOUND)
    return Status::NotFound("topic '" + name + "' does not exist (kappa topic list shows the topics)");
  if (rc) return lmdb_error("read topic " + name, rc);
  return decode_topic(name, str(v));
}

Result<std::vector<topic_meta>> catalog::list_topics() {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_cursor* c;
  int rc = mdb_cursor_open(t.get(), env_->topics, &c);
  if (rc) return lmdb_error("cursor", rc);
  std::vector<topic_meta> out;
  MDB_val k, v;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    out.push_back(decode_topic(str(k), str(v)));
  mdb_cursor_close(c);
  return out;
}

Status catalog::create_topic(const topic_meta& tm) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  topic_meta m = tm;
  if (m.created_ms == 0) m.created_ms = wall_clock_ms();
  std::string value = encode_topic(m);
  MDB_val k = val(m.name), v = val(value), av;
  if (mdb_get(t.get(), env_->aliases, &k, &av) == 0)
    return Status::Exists("'" + m.name + "' is an alias of topic " + decode_alias(m.name, av).topic +
                          ", and a topic cannot take an alias's name; delete the alias first (kappa alias delete " +
                          m.name + ") or choose another name");
  int rc = mdb_put(t.get(), env_->topics, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return Status::Exists("topic '" + m.name + "' already exists");
  if (rc) return lmdb_error("create topic " + m.name, rc);
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

Status catalog::update_topic(const topic_meta& m) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::string value = encode_topic(m);
  MDB_val k = val(m.name), v = val(value);
  int rc = mdb_put(t.get(), env_->topics, &k, &v, 0);
  if (rc) return lmdb_error("update topic " + m.name, rc);
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

Status catalog::delete_topic(const std::string& name) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  KAPPA_RETURN_IF_ERROR(refuse_aliased(t.get(), env_->aliases, name));
  MDB_val k = val(name);
  int rc = mdb_del(t.get(), env_->topics, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::NotFound("topic '" + name + "' does not exist");
  if (rc) return lmdb_error("delete topic " + name, rc);
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

Status catalog::commit_offsets(const std::string& group, const std::string& topic,
                               const std::vector<std::pair<int32_t, int64_t>>& offsets) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  int64_t now = wall_clock_ms();
  for (const auto& [p, off] : offsets) {
    std::string key = group_key(group, topic, p);
    char b[16];
    be::store64(b, static_cast<uint64_t>(off));
    be::store64(b + 8, static_cast<uint64_t>(now));
    MDB_val k = val(key), v{16, b};
    int rc = mdb_put(t.get(), env_->groups, &k, &v, 0);
    if (rc) return lmdb_error("commit offsets of group " + group, rc);
  }
  int rc = t.commit();
  if (rc) return lmdb_error("commit", rc);
  return Status::OK();
}

// Visits the group entries whose key starts with `prefix`.
template <typename F>
static Status scan_groups(MDB_txn* t, MDB_dbi dbi, const std::string& prefix, F&& f) {
  MDB_cursor* c;
  int rc = mdb_cursor_open(t, dbi, &c);
  if (rc) return lmdb_error("cursor", rc);
  MDB_val k = val(prefix), v;
  for (rc = mdb_cursor_get(c, &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    std::string key = str(k);
    if (key.compare(0, prefix.size(), prefix) != 0) break;
    f(c, key, v);
  }
  mdb_cursor_close(c);
  return Status::OK();
}

Result<std::vector<group_offset>> catalog::group_offsets(const std::string& group) {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::vector<group_offset> out;
  KAPPA_RETURN_IF_ERROR(scan_groups(
      t.get(), env_->groups, group + std::string(1, '\0'), [&](MDB_cursor*, const std::string& key, const MDB_val& v) {
        size_t a = group.size() + 1, b = key.find('\0', a);
        if (b == std::string::npos || key.size() != b + 5 || v.mv_size != 16) return;
        const char* d = static_cast<const char*>(v.mv_data);
        out.push_back({key.substr(a, b - a), static_cast<int32_t>(be::load32(key.data() + b + 1)),
                       static_cast<int64_t>(be::load64(d)), static_cast<int64_t>(be::load64(d + 8))});
      }));
  return out;
}

Result<std::vector<std::string>> catalog::list_groups() {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::vector<std::string> out;
  KAPPA_RETURN_IF_ERROR(
      scan_groups(t.get(), env_->groups, "", [&](MDB_cursor*, const std::string& key, const MDB_val&) {
        std::string g = key.substr(0, key.find('\0'));
        if (out.empty() || out.back() != g) out.push_back(g);
      }));
  return out;
}

Status catalog::delete_group(const std::string& group, const std::string& topic) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::string prefix = group + std::string(1, '\0') + (topic.empty() ? "" : topic + std::string(1, '\0'));
  size_t n = 0;
  KAPPA_RETURN_IF_ERROR(
      scan_groups(t.get(), env_->groups, prefix, [&](MDB_cursor* c, const std::string&, const MDB_val&) {
        if (mdb_cursor_del(c, 0) == 0) n++;
      }));
  // A job's checkpoint goes with its group: a rerun starts from scratch.
  std::string dkey = checkpoint_key(group, 'd');
  MDB_val dk = val(dkey), dv;
  if (mdb_get(t.get(), env_->checkpoints, &dk, &dv) == 0 &&
      (topic.empty() || str(dv).substr(0, str(dv).find('\n')) == topic)) {
    KAPPA_RETURN_IF_ERROR(scan_groups(t.get(), env_->checkpoints, group + std::string(1, '\0'),
                                      [&](MDB_cursor* c, const std::string&, const MDB_val&) {
                                        if (mdb_cursor_del(c, 0) == 0) n++;
                                      }));
  }
  if (n == 0)
    return Status::NotFound("group '" + group + "' has no committed offsets" +
                            (topic.empty() ? "" : " for topic " + topic));
  int rc = t.commit();
  if (rc) return lmdb_error("commit", rc);
  return Status::OK();
}

Status catalog::commit_checkpoint(const std::string& job, const job_definition& def, const partition_checkpoint& cp,
                                  std::string_view state, bool full) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::string dkey = checkpoint_key(job, 'd'), dtext = def.input + "\n" + def.options;
  MDB_val dk = val(dkey), dv;
  int rc = mdb_get(t.get(), env_->checkpoints, &dk, &dv);
  if (rc == 0 && str(dv) != dtext)
    return Status::Invalid("job " + job + " was checkpointed with other options; it cannot change them midway");
  if (rc == MDB_NOTFOUND) {
    dv = val(dtext);
    if ((rc = mdb_put(t.get(), env_->checkpoints, &dk, &dv, 0))) return lmdb_error("write job " + job, rc);
  } else if (rc) {
    return lmdb_error("read job " + job, rc);
  }
  std::string chain = checkpoint_key(job, 's', cp.partition);
  if (full) {
    KAPPA_RETURN_IF_ERROR(scan_groups(t.get(), env_->checkpoints, chain,
                                      [&](MDB_cursor* c, const std::string&, const MDB_val&) { mdb_cursor_del(c, 0); }));
  }
  if (full || !state.empty()) {
    std::string skey = chain;
    char seq[8];
    be::store64(seq, cp.checkpoints);
    skey.append(seq, 8);
    MDB_val sk = val(skey), sv{state.size(), const_cast<char*>(state.data())};
    if ((rc = mdb_put(t.get(), env_->checkpoints, &sk, &sv, 0))) return lmdb_error("write state of " + job, rc);
  }
  std::string pkey = checkpoint_key(job, 'p', cp.partition), pval = encode_checkpoint(cp);
  MDB_val pk = val(pkey), pv = val(pval);
  if ((rc = mdb_put(t.get(), env_->checkpoints, &pk, &pv, 0))) return lmdb_error("write checkpoint of " + job, rc);
  std::string gkey = group_key(job, def.input, cp.partition);
  char b[16];
  be::store64(b, static_cast<uint64_t>(cp.input_next));
  be::store64(b + 8, static_cast<uint64_t>(cp.time_ms));
  MDB_val gk = val(gkey), gv{16, b};
  if ((rc = mdb_put(t.get(), env_->groups, &gk, &gv, 0))) return lmdb_error("commit offsets of group " + job, rc);
  if ((rc = t.commit())) return lmdb_error("commit checkpoint of " + job, rc);
  return Status::OK();
}

Result<job_definition> catalog::job_definition_of(const std::string& job) {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::string dkey = checkpoint_key(job, 'd');
  MDB_val k = val(dkey), v;
  int rc = mdb_get(t.get(), env_->checkpoints, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("job " + job + " has no checkpoint");
  if (rc) return lmdb_error("read job " + job, rc);
  std::string text = str(v);
  size_t nl = text.find('\n');
  if (nl == std::string::npos) return Status::Corruption("catalog entry of job " + job + " is damaged");
  return job_definition{text.substr(0, nl), text.substr(nl + 1)};
}

Result<std::vector<partition_checkpoint>> catalog::checkpoints(const std::string& job) {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::vector<partition_checkpoint> out;
  std::string prefix = checkpoint_key(job, 'p');
  bool bad = false;
  KAPPA_RETURN_IF_ERROR(scan_groups(t.get(), env_->checkpoints, prefix,
                                    [&](MDB_cursor*, const std::string& key, const MDB_val& v) {
                                      partition_checkpoint cp;
                                      if (key.size() != prefix.size() + 4 ||
                                          !decode_checkpoint(static_cast<int32_t>(be::load32(key.data() + prefix.size())),
                                                             v, &cp)) {
                                        bad = true;
                                        return;
                                      }
                                      out.push_back(cp);
                                    }));
  if (bad) return Status::Corruption("a checkpoint of job " + job + " in the catalog is damaged");
  return out;
}

Status catalog::scan_state(const std::string& job, int32_t partition,
                           const std::function<Status(std::string_view)>& fn) {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  Status st;
  KAPPA_RETURN_IF_ERROR(scan_groups(t.get(), env_->checkpoints, checkpoint_key(job, 's', partition),
                                    [&](MDB_cursor*, const std::string&, const MDB_val& v) {
                                      if (st.ok())
                                        st = fn(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
                                    }));
  return st;
}


Status catalog::set_alias(const std::string& alias, const std::string& topic) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  KAPPA_RETURN_IF_ERROR(put_alias(t.get(), env_->topics, env_->aliases, alias, topic));
  if (int rc = t.commit()) return lmdb_error("commit", rc);
  return Status::OK();
}

Result<alias_entry> catalog::get_alias(const std::string& alias) {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_val k = val(alias), v;
  int rc = mdb_get(t.get(), env_->aliases, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("alias '" + alias + "' does not exist (kappa alias list shows them)");
  if (rc) return lmdb_error("read alias " + alias, rc);
  return decode_alias(alias, v);
}

Result<std::vector<alias_entry>> catalog::list_aliases() {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::vector<alias_entry> out;
  KAPPA_RETURN_IF_ERROR(scan_groups(t.get(), env_->aliases, "", [&](MDB_cursor*, const std::string& key,
                                                                     const MDB_val& v) {
    out.push_back(decode_alias(key, v));
  }));
  return out;
}

Status catalog::delete_alias(const std::string& alias) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_val k = val(alias);
  int rc = mdb_del(t.get(), env_->aliases, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::NotFound("alias '" + alias + "' does not exist (kappa alias list shows them)");
  if (rc) return lmdb_error("delete alias " + alias, rc);
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

Status catalog::create_job(const job_record& j, const std::string& alias_topic) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::string value = encode_job(j);
  MDB_val k = val(j.name), v = val(value);
  int rc = mdb_put(t.get(), env_->jobs, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST)
    return Status::Exists("job '" + j.name + "' already exists (kappa job show " + j.name +
                          "; to change its logic, kappa job reprocess " + j.name + " --set option=value)");
  if (rc) return lmdb_error("create job " + j.name, rc);
  if (!alias_topic.empty()) {
    MDB_val ak = val(j.base), av;
    if (mdb_get(t.get(), env_->aliases, &ak, &av) == 0)
      return Status::Exists("alias '" + j.base + "' already exists (it points to " + decode_alias(j.base, av).topic +
                            "); choose another --output for job " + j.name);
    KAPPA_RETURN_IF_ERROR(put_alias(t.get(), env_->topics, env_->aliases, j.base, alias_topic));
  }
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

Status catalog::modify_job(const std::string& name,
                           const std::function<Status(job_record&, std::string*)>& edit) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_val k = val(name), old;
  int rc = mdb_get(t.get(), env_->jobs, &k, &old);
  if (rc == MDB_NOTFOUND) return Status::NotFound("job '" + name + "' does not exist (kappa job list shows them)");
  if (rc) return lmdb_error("read job " + name, rc);
  KAPPA_ASSIGN_OR_RETURN(job_record j, decode_job(name, str(old)));
  std::string alias_topic;
  KAPPA_RETURN_IF_ERROR(edit(j, &alias_topic));
  std::string value = encode_job(j);
  MDB_val v = val(value);
  if ((rc = mdb_put(t.get(), env_->jobs, &k, &v, 0))) return lmdb_error("update job " + name, rc);
  if (!alias_topic.empty()) KAPPA_RETURN_IF_ERROR(put_alias(t.get(), env_->topics, env_->aliases, j.base, alias_topic));
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

Result<job_record> catalog::get_job(const std::string& name) {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_val k = val(name), v;
  int rc = mdb_get(t.get(), env_->jobs, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("job '" + name + "' does not exist (kappa job list shows them)");
  if (rc) return lmdb_error("read job " + name, rc);
  return decode_job(name, str(v));
}

Result<std::vector<job_record>> catalog::list_jobs() {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::vector<job_record> out;
  Status st;
  KAPPA_RETURN_IF_ERROR(scan_groups(t.get(), env_->jobs, "", [&](MDB_cursor*, const std::string& key,
                                                                  const MDB_val& v) {
    auto j = decode_job(key, str(v));
    if (j.ok())
      out.push_back(std::move(j.value()));
    else if (st.ok())
      st = j.status();
  }));
  KAPPA_RETURN_IF_ERROR(st);
  return out;
}

Status catalog::delete_job(const std::string& name) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_val k = val(name), v;
  int rc = mdb_get(t.get(), env_->jobs, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("job '" + name + "' does not exist (kappa job list shows them)");
  if (rc) return lmdb_error("read job " + name, rc);
  KAPPA_ASSIGN_OR_RETURN(job_record j, decode_job(name, str(v)));
  if ((rc = mdb_del(t.get(), env_->jobs, &k, nullptr))) return lmdb_error("delete job " + name, rc);
  MDB_val ak = val(j.base), av;
  if (mdb_get(t.get(), env_->aliases, &ak, &av) == 0) {
    std::string target = decode_alias(j.base, av).topic;
    bool ours = false;
    for (const auto& ver : j.versions) ours |= target == j.base + ".v" + std::to_string(ver.number);
    if (ours && (rc = mdb_del(t.get(), env_->aliases, &ak, nullptr))) return lmdb_error("delete alias " + j.base, rc);
  }
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

Result<std::map<std::string, std::string>> catalog::settings() {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_cursor* c;
  int rc = mdb_cursor_open(t.get(), env_->settings, &c);
  if (rc) return lmdb_error("cursor", rc);
  std::map<std::string, std::string> out;
  MDB_val k, v;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    out[str(k)] = str(v);
  mdb_cursor_close(c);
  return out;
}

Status catalog::set_setting(const std::string& key, const std::string& value) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_val k = val(key), v = val(value);
  int rc = mdb_put(t.get(), env_->settings, &k, &v, 0);
  if (rc) return lmdb_error("set " + key, rc);
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

// A group's live members: one line per member, its fields separated by
// tabs (a tab or newline inside a field, which no client sends, becomes a
// space).
namespace {
std::string encode_members(const std::vector<live_group_member>& members) {
  std::string out;
  auto field = [&](const std::string& f, char end) {
    for (char ch : f) out += (ch == '\t' || ch == '\n') ? ' ' : ch;
    out += end;
  };
  for (const auto& m : members) {
    field(m.member_id, '\t');
    field(m.client_id, '\t');
    field(m.client_host, '\n');
  }
  return out;
}
std::vector<live_group_member> decode_members(std::string_view s) {
  std::vector<live_group_member> out;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
    live_group_member m;
    std::string* fields[] = {&m.member_id, &m.client_id, &m.client_host};
    for (std::string* f : fields) {
      size_t tab = line.find('\t');
      *f = std::string(line.substr(0, tab));
      line = tab == std::string_view::npos ? std::string_view() : line.substr(tab + 1);
    }
    out.push_back(std::move(m));
  }
  return out;
}
}  // namespace

Status catalog::set_live_members(const std::string& group, const std::vector<live_group_member>& members) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_val k = val(group);
  int rc;
  if (members.empty()) {
    rc = mdb_del(t.get(), env_->live, &k, nullptr);
    if (rc == MDB_NOTFOUND) return Status::OK();
  } else {
    std::string value = encode_members(members);
    MDB_val v = val(value);
    rc = mdb_put(t.get(), env_->live, &k, &v, 0);
  }
  if (rc) return lmdb_error("publish the members of group " + group, rc);
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

Result<std::vector<live_group_member>> catalog::live_members(const std::string& group) {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_val k = val(group), v;
  int rc = mdb_get(t.get(), env_->live, &k, &v);
  if (rc == MDB_NOTFOUND) return std::vector<live_group_member>{};
  if (rc) return lmdb_error("read the members of group " + group, rc);
  return decode_members(str(v));
}

Status catalog::clear_live_members() {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  int rc = mdb_drop(t.get(), env_->live, 0);
  if (rc) return lmdb_error("clear live members", rc);
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

}  // namespace kappa
