#include "kappa/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "catalog/background_maintenance.h"
#include "io/file.h"
#include "kappa/catalog.h"
#include "log/partition_lock.h"
#include "log/topic_name.h"

namespace kappa {

std::string partition_name(const std::string& topic, int32_t partition) {
  return "topic " + topic + " partition " + std::to_string(partition);
}

data_dir::~data_dir() {
  if (maintenance_) maintenance_->shutdown();
}

Result<std::unique_ptr<data_dir>> data_dir::open(const std::string& path, bool create) {
  std::unique_ptr<data_dir> d(new data_dir());
  d->path_ = path;
  if (create) {
    KAPPA_RETURN_IF_ERROR(d->ensure_created());
    return d;
  }
  auto c = catalog::open(path + "/meta", false);
  if (c.ok())
    d->catalog_ = std::move(c.value());
  else if (!c.status().is_not_found())
    return c.status();
  return d;
}

Status data_dir::ensure_created() {
  if (catalog_) return Status::OK();
  KAPPA_RETURN_IF_ERROR(make_dirs(path_ + "/topics"));
  KAPPA_ASSIGN_OR_RETURN(catalog_, catalog::open(path_ + "/meta", true));
  return Status::OK();
}

std::string data_dir::partition_dir(const std::string& topic, int32_t partition) const {
  return path_ + "/topics/" + topic + "-" + std::to_string(partition);
}

Result<topic_meta> data_dir::topic(const std::string& name) {
  KAPPA_RETURN_IF_ERROR(validate_topic_name(name));
  if (!catalog_) return Status::NotFound("topic '" + name + "' does not exist (data dir " + path_ + " is empty)");
  return catalog_->get_topic(name);
}

Result<topic_meta> data_dir::resolve_topic(const std::string& name) {
  auto t = topic(name);
  if (t.ok() || !t.status().is_not_found() || !catalog_) return t;
  auto a = catalog_->get_alias(name);
  if (!a.ok()) return a.status().is_not_found() ? t.status() : a.status();
  auto target = catalog_->get_topic(a->topic);
  if (!target.ok() && target.status().is_not_found())
    return Status::NotFound("alias " + name + " points to topic " + a->topic +
                            ", which does not exist; point it at a topic with kappa alias set " + name + " TOPIC");
  return target;
}

std::string data_dir::served_by() const {
  unique_fd fd(::open((path_ + "/" + kServeLockFile).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return "";  // nobody serves: the file is a leftover
  char buf[256] = {};
  ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  std::string who(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!who.empty() && who.back() == '\n') who.pop_back();
  return who.empty() ? "a kappa serve process" : who;
}

Status data_dir::create_topic(const topic_meta& t) {
  KAPPA_RETURN_IF_ERROR(validate_topic_name(t.name));
  KAPPA_RETURN_IF_ERROR(check_topic_config(t));
  KAPPA_RETURN_IF_ERROR(ensure_created());
  KAPPA_RETURN_IF_ERROR(catalog_->create_topic(t));
  for (int32_t p = 0; p < t.partitions; p++) KAPPA_RETURN_IF_ERROR(make_dirs(partition_dir(t.name, p)));
  return sync_dir(path_ + "/topics");
}

Status data_dir::delete_topic(const std::string& name) {
  KAPPA_ASSIGN_OR_RETURN(topic_meta t, topic(name));
  std::vector<partition_lock> locks;
  for (int32_t p = 0; p < t.partitions; p++) {
    std::string dir = partition_dir(name, p);
    if (!path_exists(dir)) continue;
    KAPPA_ASSIGN_OR_RETURN(auto l, partition_lock::acquire_writer(dir, partition_name(name, p)));
    locks.push_back(std::move(l));
  }
  // Nor while a cleaner works on one.
  for (int32_t p = 0; p < t.partitions; p++) {
    std::string dir = partition_dir(name, p);
    if (!path_exists(dir)) continue;
    auto l = partition_lock::try_acquire_cleaner(dir);
    if (!l.held())
      return Status::Busy(partition_name(name, p) + " is being compacted or trimmed by another process; retry when "
                          "it is done");
    locks.push_back(std::move(l));
  }
  KAPPA_RETURN_IF_ERROR(catalog_->delete_topic(name));
  for (int32_t p = 0; p < t.partitions; p++) {
    KAPPA_RETURN_IF_ERROR(remove_tree(partition_dir(name, p)));
    // Archived segments are the topic's data too; a topic created later
    // under the same name must not read them as its own.
    std::string archived = archive_dir(t, p);
    if (!archived.empty()) KAPPA_RETURN_IF_ERROR(remove_tree(archived));
  }
  return Status::OK();
}

std::string data_dir::archive_dir(const topic_meta& t, int32_t partition) const {
  const std::string& root = t.config.get("archive.dir");
  if (root.empty()) return "";
  return root + "/" + t.name + "-" + std::to_string(partition);
}

partition_options data_dir::options(const topic_meta& t, int32_t partition) const {
  partition_options o = t.config.partition();
  o.archive_dir = archive_dir(t, partition);
  return o;
}

Result<std::string> data_dir::setting(const std::string& key) {
  const auto& defs = data_dir_setting_defs();
  auto def = std::find_if(defs.begin(), defs.end(), [&](const config_def& d) { return key == d.name; });
  if (def == defs.end()) return validate_data_dir_setting(key, "");
  if (catalog_) {
    KAPPA_ASSIGN_OR_RETURN(auto set, catalog_->settings());
    if (auto it = set.find(key); it != set.end()) return it->second;
  }
  return std::string(def->default_value);
}

Status data_dir::set_setting(const std::string& key, const std::string& value) {
  KAPPA_RETURN_IF_ERROR(validate_data_dir_setting(key, value));
  KAPPA_RETURN_IF_ERROR(ensure_created());
  return catalog_->set_setting(key, value);
}

Status data_dir::check_topic_config(const topic_meta& t) const {
  const std::string& archive = t.config.get("archive.dir");
  if (archive.empty()) return Status::OK();
  std::error_code ec;
  auto a = std::filesystem::weakly_canonical(archive, ec);
  auto d = std::filesystem::weakly_canonical(path_, ec);
  auto [end, _] = std::mismatch(d.begin(), d.end(), a.begin(), a.end());
  if (!ec && end == d.end())
    return Status::Invalid("invalid value '" + archive + "' for config archive.dir: it lies inside the data dir " +
                           path_ + "; choose a directory outside it (typically on another disk)");
  return Status::OK();
}

Result<budget_report> data_dir::enforce_budget(bool wait) {
  budget_report r;
  KAPPA_ASSIGN_OR_RETURN(std::string max, setting("max.bytes"));
  r.max_bytes = std::stoll(max);
  if (!catalog_ || r.max_bytes < 0) return r;
  // One pass at a time: each measures what the one before it left.
  KAPPA_ASSIGN_OR_RETURN(partition_lock lock, partition_lock::lock_file(path_ + "/budget.lock", wait));
  if (!lock.held()) {
    r.busy = true;
    return r;
  }
  KAPPA_ASSIGN_OR_RETURN(auto topics, catalog_->list_topics());
  // Per delete-policy partition, its sealed segments oldest first; the
  // oldest of all (by newest timestamp) goes first.
  struct partition_queue {
    std::string topic;
    int32_t partition;
    std::string dir, name;
    partition_options o;
    std::vector<segment_stat> sealed;
    size_t next = 0;
    uint64_t active_bytes = 0;
    budget_report::removal removed;
  };
  std::vector<partition_queue> queues;
  for (const auto& t : topics) {
    for (int32_t p = 0; p < t.partitions; p++) {
      std::string dir = partition_dir(t.name, p);
      KAPPA_ASSIGN_OR_RETURN(auto segs, stat_segments(dir));
      for (const auto& s : segs) r.bytes_before += s.log_bytes + s.index_bytes;
      partition_queue q{t.name, p, dir, partition_name(t.name, p), options(t, p), {}, 0, 0, {}};
      if (!q.o.cleanup_delete || segs.empty()) continue;
      q.active_bytes = segs.back().log_bytes;
      segs.pop_back();
      q.sealed = std::move(segs);
      queues.push_back(std::move(q));
    }
  }
  r.bytes_after = r.bytes_before;
  while (r.bytes_after > static_cast<uint64_t>(r.max_bytes)) {
    partition_queue* oldest = nullptr;
    for (auto& q : queues)
      if (q.next < q.sealed.size() &&
          (!oldest || q.sealed[q.next].newest_timestamp < oldest->sealed[oldest->next].newest_timestamp))
        oldest = &q;
    if (!oldest) break;
    const segment_stat& seg = oldest->sealed[oldest->next];
    KAPPA_ASSIGN_OR_RETURN(uint64_t freed, retire_oldest_segment(oldest->dir, oldest->name, oldest->o, wait));
    if (freed == 0) {
      oldest->next = oldest->sealed.size();  // busy (or changed under us): leave this partition be
      continue;
    }
    oldest->next++;
    r.bytes_after -= std::min(r.bytes_after, freed);
    r.segments_retired++;
    oldest->removed.segments++;
    oldest->removed.bytes += seg.log_bytes;
  }
  for (auto& q : queues) {
    if (q.removed.segments == 0) continue;
    q.removed.topic = q.topic;
    q.removed.partition = q.partition;
    q.removed.archived = !q.o.archive_dir.empty();
    r.removals.push_back(q.removed);
  }
  if (r.bytes_after > static_cast<uint64_t>(r.max_bytes))
    for (const auto& q : queues)
      if (q.active_bytes > 0) r.partitions_to_roll.push_back(q.dir);
  return r;
}

Result<std::unique_ptr<partition_appender>> data_dir::open_appender(const topic_meta& t, int32_t partition,
                                                                    size_t write_buffer_bytes, codec compression,
                                                                    bool brief_writer) {
  partition_options o = options(t, partition);
  o.brief_writer = brief_writer;
  if (write_buffer_bytes > 0) o.write_buffer_bytes = write_buffer_bytes;
  o.compression = compression;
  KAPPA_RETURN_IF_ERROR(ensure_created());
  {
    std::lock_guard<std::mutex> l(maintenance_mu_);
    if (!maintenance_) maintenance_ = std::make_shared<background_maintenance>(this);
  }
  // Under a disk budget, write in pieces small against it, so the budget
  // is checked (and the active segment rolled) often enough to hold it.
  KAPPA_ASSIGN_OR_RETURN(std::string max, setting("max.bytes"));
  if (int64_t m = std::stoll(max); m >= 0)
    o.write_buffer_bytes = std::clamp<size_t>(static_cast<size_t>(m) / 8, 16u << 10, o.write_buffer_bytes);
  std::string dir = partition_dir(t.name, partition), name = partition_name(t.name, partition);
  o.observer = maintenance_->observer_for(dir, name, o);
  return partition_appender::open(dir, name, o);
}

Result<std::unique_ptr<partition_reader>> data_dir::open_reader(const topic_meta& t, int32_t partition,
                                                                bool with_archive, bool prefetch) {
  partition_options o = options(t, partition);
  o.read_archive = with_archive;
  o.prefetch = prefetch;
  return partition_reader::open(partition_dir(t.name, partition), partition_name(t.name, partition), o);
}

}  // namespace kappa
