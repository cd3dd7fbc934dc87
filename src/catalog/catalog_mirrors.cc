// The catalog's mirrors (kappa mirror): definitions and per-partition
// progress, in the "mirrors" database.
//
// Keys:  'd' \0 NAME                          the definition
//        'p' \0 NAME \0 TOPIC \0 PARTITION    progress of one source partition
//                                             (4 bytes, big-endian, so keys sort)
// Values are "key=value" lines; a backslash and a newline inside a value are
// written \\ and \n.
#include <cstdlib>

#include "catalog/catalog_env.h"
#include "util/big_endian.h"
#include "util/clock.h"

namespace kappa {

using namespace catalog_detail;

namespace {

std::string definition_key(const std::string& name) { return std::string("d\0", 2) + name; }
std::string progress_prefix(const std::string& name) { return std::string("p\0", 2) + name + '\0'; }
std::string progress_key(const std::string& name, const std::string& topic, int32_t partition) {
  std::string k = progress_prefix(name) + topic + '\0';
  char b[4];
  be::store32(b, static_cast<uint32_t>(partition));
  k.append(b, 4);
  return k;
}

void put_line(std::string& out, const std::string& key, const std::string& value) {
  out += key;
  out += '=';
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  out += '\n';
}

// Calls f(key, value) for each line of an encoded value.
template <typename F>
void for_each_line(const std::string& s, F&& f) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    size_t eq = s.find('=', pos);
    if (eq < nl) {
      std::string value;
      for (size_t i = eq + 1; i < nl; i++) {
        if (s[i] == '\\' && i + 1 < nl) {
          i++;
          value += s[i] == 'n' ? '\n' : s[i];
        } else {
          value += s[i];
        }
      }
      f(s.substr(pos, eq - pos), value);
    }
    pos = nl + 1;
  }
}

int64_t to_i64(const std::string& v) { return std::strtoll(v.c_str(), nullptr, 10); }

std::string encode_mirror(const mirror_record& m) {
  std::string s;
  put_line(s, "direction", m.to ? "to" : "from");
  put_line(s, "bootstrap", m.bootstrap);
  put_line(s, "topics", m.topics);
  put_line(s, "prefix", m.prefix);
  put_line(s, "start", m.from_latest ? "latest" : "earliest");
  put_line(s, "created", std::to_string(m.created_ms));
  for (const auto& [k, v] : m.properties) put_line(s, "X." + k, v);
  return s;
}

mirror_record decode_mirror(const std::string& name, const std::string& s) {
  mirror_record m;
  m.name = name;
  for_each_line(s, [&](const std::string& k, const std::string& v) {
    if (k == "direction")
      m.to = v == "to";
    else if (k == "bootstrap")
      m.bootstrap = v;
    else if (k == "topics")
      m.topics = v;
    else if (k == "prefix")
      m.prefix = v;
    else if (k == "start")
      m.from_latest = v == "latest";
    else if (k == "created")
      m.created_ms = to_i64(v);
    else if (k.rfind("X.", 0) == 0)
      m.properties.emplace_back(k.substr(2), v);
  });
  return m;
}

std::string encode_progress(const mirror_progress& p) {
  std::string s;
  put_line(s, "next", std::to_string(p.next));
  put_line(s, "output_end", std::to_string(p.output_end));
  put_line(s, "dest_floor", std::to_string(p.dest_floor));
  put_line(s, "source_end", std::to_string(p.source_end));
  put_line(s, "next_ts", std::to_string(p.next_ts));
  put_line(s, "time", std::to_string(p.time_ms));
  if (!p.last_error.empty()) put_line(s, "error", p.last_error);
  for (const auto& [first, last] : p.lost) put_line(s, "lost", std::to_string(first) + "-" + std::to_string(last));
  return s;
}

mirror_progress decode_progress(const std::string& topic, int32_t partition, const std::string& s) {
  mirror_progress p;
  p.topic = topic;
  p.partition = partition;
  for_each_line(s, [&](const std::string& k, const std::string& v) {
    if (k == "next")
      p.next = to_i64(v);
    else if (k == "output_end")
      p.output_end = to_i64(v);
    else if (k == "dest_floor")
      p.dest_floor = to_i64(v);
    else if (k == "source_end")
      p.source_end = to_i64(v);
    else if (k == "next_ts")
      p.next_ts = to_i64(v);
    else if (k == "time")
      p.time_ms = to_i64(v);
    else if (k == "error")
      p.last_error = v;
    else if (k == "lost")
      p.lost.emplace_back(to_i64(v), to_i64(v.substr(v.find('-') + 1)));
  });
  return p;
}

Status not_found(const std::string& name) {
  return Status::NotFound("mirror '" + name + "' does not exist (kappa mirror list shows the mirrors)");
}

}  // namespace

Status catalog::create_mirror(const mirror_record& mr) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  mirror_record m = mr;
  if (m.created_ms == 0) m.created_ms = wall_clock_ms();
  std::string key = definition_key(m.name), value = encode_mirror(m);
  MDB_val k = val(key), v = val(value);
  int rc = mdb_put(t.get(), env_->mirrors, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST)
    return Status::Exists("mirror '" + m.name + "' already exists (kappa mirror status " + m.name +
                          "; kappa mirror delete " + m.name + " to define it again)");
  if (rc) return lmdb_error("create mirror " + m.name, rc);
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

Result<mirror_record> catalog::get_mirror(const std::string& name) {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::string key = definition_key(name);
  MDB_val k = val(key), v;
  int rc = mdb_get(t.get(), env_->mirrors, &k, &v);
  if (rc == MDB_NOTFOUND) return not_found(name);
  if (rc) return lmdb_error("read mirror " + name, rc);
  return decode_mirror(name, str(v));
}

Result<std::vector<mirror_record>> catalog::list_mirrors() {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_cursor* c;
  int rc = mdb_cursor_open(t.get(), env_->mirrors, &c);
  if (rc) return lmdb_error("cursor", rc);
  std::vector<mirror_record> out;
  std::string prefix("d\0", 2);
  MDB_val k = val(prefix), v;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    std::string key = str(k);
    if (key.compare(0, 2, prefix) != 0) break;
    out.push_back(decode_mirror(key.substr(2), str(v)));
  }
  mdb_cursor_close(c);
  return out;
}

Status catalog::delete_mirror(const std::string& name) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::string key = definition_key(name);
  MDB_val k = val(key);
  int rc = mdb_del(t.get(), env_->mirrors, &k, nullptr);
  if (rc == MDB_NOTFOUND) return not_found(name);
  if (rc) return lmdb_error("delete mirror " + name, rc);
  MDB_cursor* c;
  if ((rc = mdb_cursor_open(t.get(), env_->mirrors, &c))) return lmdb_error("cursor", rc);
  std::string prefix = progress_prefix(name);
  MDB_val pk = val(prefix), pv;
  for (rc = mdb_cursor_get(c, &pk, &pv, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &pk, &pv, MDB_NEXT)) {
    if (str(pk).compare(0, prefix.size(), prefix) != 0) break;
    if ((rc = mdb_cursor_del(c, 0))) break;
  }
  mdb_cursor_close(c);
  if (rc && rc != MDB_NOTFOUND) return lmdb_error("delete the progress of mirror " + name, rc);
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

Result<std::vector<mirror_progress>> catalog::mirror_progress_of(const std::string& name) {
  txn t(env_->e, false);
  if (t.rc()) return lmdb_error("begin", t.rc());
  MDB_cursor* c;
  int rc = mdb_cursor_open(t.get(), env_->mirrors, &c);
  if (rc) return lmdb_error("cursor", rc);
  std::vector<mirror_progress> out;
  std::string prefix = progress_prefix(name);
  MDB_val k = val(prefix), v;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    std::string key = str(k);
    if (key.compare(0, prefix.size(), prefix) != 0) break;
    // TOPIC \0 PARTITION: a topic name never holds \0, and the partition is the last 4 bytes.
    if (key.size() < prefix.size() + 5) continue;
    std::string topic = key.substr(prefix.size(), key.size() - prefix.size() - 5);
    auto partition = static_cast<int32_t>(be::load32(key.data() + key.size() - 4));
    out.push_back(decode_progress(topic, partition, str(v)));
  }
  mdb_cursor_close(c);
  return out;
}

Status catalog::commit_mirror_progress(const std::string& name, const std::vector<mirror_progress>& progress) {
  txn t(env_->e, true);
  if (t.rc()) return lmdb_error("begin", t.rc());
  std::string dkey = definition_key(name);
  MDB_val dk = val(dkey), dv;
  int rc = mdb_get(t.get(), env_->mirrors, &dk, &dv);
  if (rc == MDB_NOTFOUND) return not_found(name);
  if (rc) return lmdb_error("read mirror " + name, rc);
  int64_t now = wall_clock_ms();
  for (const auto& pr : progress) {
    mirror_progress p = pr;
    if (p.time_ms == 0) p.time_ms = now;
    std::string key = progress_key(name, p.topic, p.partition), value = encode_progress(p);
    MDB_val k = val(key), v = val(value);
    if ((rc = mdb_put(t.get(), env_->mirrors, &k, &v, 0)))
      return lmdb_error("store the progress of mirror " + name, rc);
  }
  if ((rc = t.commit())) return lmdb_error("commit", rc);
  return Status::OK();
}

}  // namespace kappa
