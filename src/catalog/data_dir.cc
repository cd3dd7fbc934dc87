#include "kappa/data_dir.h"

#include "io/file.h"
#include "kappa/catalog.h"
#include "log/partition_lock.h"
#include "log/topic_name.h"

namespace kappa {

std::string partition_name(const std::string& topic, int32_t partition) {
  return "topic " + topic + " partition " + std::to_string(partition);
}

data_dir::~data_dir() = default;

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

Status data_dir::create_topic(const topic_meta& t) {
  KAPPA_RETURN_IF_ERROR(validate_topic_name(t.name));
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
  KAPPA_RETURN_IF_ERROR(catalog_->delete_topic(name));
  for (int32_t p = 0; p < t.partitions; p++) KAPPA_RETURN_IF_ERROR(remove_tree(partition_dir(name, p)));
  return Status::OK();
}

Result<std::unique_ptr<partition_appender>> data_dir::open_appender(const topic_meta& t, int32_t partition,
                                                                    size_t write_buffer_bytes) {
  partition_options o = t.config.partition();
  if (write_buffer_bytes > 0) o.write_buffer_bytes = write_buffer_bytes;
  return partition_appender::open(partition_dir(t.name, partition), partition_name(t.name, partition), o);
}

Result<std::unique_ptr<partition_reader>> data_dir::open_reader(const topic_meta& t, int32_t partition) {
  return partition_reader::open(partition_dir(t.name, partition), partition_name(t.name, partition),
                                t.config.partition());
}

}  // namespace kappa
