// kappa::mirror's shared part: checking a definition, naming destinations,
// the run lock, and choosing the direction's runner.
#include "kappa/mirror.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "io/file.h"
#include "log/topic_name.h"
#include "mirror/kafka_client.h"
#include "mirror/run_setup.h"
#include "mirror/topic_filter.h"

namespace kappa {

using namespace mirror_detail;

namespace {
std::string lock_dir_of(const data_dir& dd, const std::string& name) { return dd.path() + "/mirrors/" + name; }
}  // namespace

Status mirror::check(const mirror_record& m) {
  if (Status st = validate_topic_name(m.name); !st.ok())
    return Status::Invalid("invalid mirror name '" + m.name + "': mirror names follow topic names' rule (" +
                           st.message() + ")");
  if (m.bootstrap.empty()) return Status::Invalid("the bootstrap servers are empty: give HOST:PORT[,HOST:PORT...]");
  KAPPA_RETURN_IF_ERROR(topic_filter::parse(m.topics).status());
  if (!m.prefix.empty()) {
    if (Status st = validate_topic_name(m.prefix + "x"); !st.ok())
      return Status::Invalid("--prefix '" + m.prefix + "' cannot start a topic name (" + st.message() + ")");
  }
  // Every -X property, as librdkafka takes it, and the whole configuration
  // as a client of this direction would be made (conflicts such as
  // enable.idempotence with acks=1 show only there).
  KAPPA_ASSIGN_OR_RETURN(kafka_conf conf, make_conf(m, m.to ? producer_defaults() : consumer_defaults()));
  rd_kafka_conf_set(conf.get(), "group.id", "kappa-mirror-check", nullptr, 0);
  Status st = make_client(m.to ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, std::move(conf)).status();
  if (!st.ok() && st.message().find("idempotence") != std::string::npos)
    return Status::Invalid(st.message() +
                           " (a --to mirror's producer is idempotent, for exactly once; -X enable.idempotence=false "
                           "allows this, at the cost of records repeated after retries)");
  return st;
}

std::string mirror::destination_of(const mirror_record& m, const std::string& topic) { return m.prefix + topic; }

bool mirror::matches(const mirror_record& m, const std::string& topic) {
  auto f = topic_filter::parse(m.topics);
  return f.ok() && f->matches(topic);
}

Result<std::string> mirror::owner_of_local_topic(data_dir& dd, const std::string& topic) {
  if (!dd.catalog()) return std::string();
  KAPPA_ASSIGN_OR_RETURN(auto mirrors, dd.catalog()->list_mirrors());
  for (const auto& m : mirrors) {
    if (m.to || topic.compare(0, m.prefix.size(), m.prefix) != 0) continue;
    if (matches(m, topic.substr(m.prefix.size()))) return m.name;
  }
  return std::string();
}

int mirror::running_pid(const data_dir& dd, const std::string& name) {
  // The holder writes its pid there and clears it on release; after a
  // kill -9 the pid stays, so check that the process is alive.
  unique_fd fd(::open((lock_dir_of(dd, name) + "/writer.lock").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return 0;
  char text[32] = {};
  if (::pread(fd.get(), text, sizeof text - 1, 0) <= 0) return 0;
  int pid = std::atoi(text);
  if (pid <= 0) return 0;
  return ::kill(pid, 0) == 0 || errno == EPERM ? pid : 0;
}

Result<std::unique_ptr<mirror>> mirror::open(data_dir& dd, const std::string& name, bool follow,
                                             std::function<void(const std::string&)> note) {
  if (Status st = validate_topic_name(name); !st.ok())
    return Status::Invalid("invalid mirror name '" + name + "' (" + st.message() + ")");
  if (!dd.catalog()) return Status::NotFound("mirror '" + name + "' does not exist (the data dir is empty)");
  run_setup s;
  s.dd = &dd;
  KAPPA_ASSIGN_OR_RETURN(s.m, dd.catalog()->get_mirror(name));
  KAPPA_ASSIGN_OR_RETURN(s.filter, topic_filter::parse(s.m.topics));
  s.follow = follow;
  s.label = "mirror " + name;
  s.note = std::move(note);
  std::string dir = lock_dir_of(dd, name);
  KAPPA_RETURN_IF_ERROR(make_dirs(dir));
  auto lock = partition_lock::acquire_writer(dir, s.label);
  if (!lock.ok())
    return lock.status().is_busy()
               ? Status::Busy("cannot run mirror " + name + " twice at once: " + lock.status().message())
               : lock.status();
  s.lock = std::move(lock.value());
  return s.m.to ? make_forwarder(std::move(s)) : make_puller(std::move(s));
}

}  // namespace kappa
