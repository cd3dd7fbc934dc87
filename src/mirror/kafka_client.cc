#include "mirror/kafka_client.h"

#include <algorithm>

namespace kappa::mirror_detail {

namespace {
// librdkafka logs every failed connection attempt; the mirror reports the
// link's state itself (link_reporter), once.
void quiet_log(const rd_kafka_t*, int, const char*, const char*) {}
}  // namespace

const properties& producer_defaults() {
  static const properties p = {
      // Retries after an outage never duplicate or reorder (the broker
      // deduplicates by producer id and sequence).
      {"enable.idempotence", "true"},
      // Records stay queued through an outage of any length: the local log
      // is the store, and a record that timed out would leave a gap.
      {"message.timeout.ms", "0"},
      // A record the cluster refuses for good stops the producer instead of
      // leaving a gap (librdkafka would otherwise skip it and go on): the
      // mirror starts again from the destination's real end.
      {"enable.gapless.guarantee", "true"},
      // Back within a second of the cluster (the default waits up to 10 s).
      {"reconnect.backoff.max.ms", "1000"},
      // A bounded queue (an edge box's memory), filled again from the log.
      {"queue.buffering.max.kbytes", "65536"},
      {"client.id", "kappa-mirror"},
  };
  return p;
}

const properties& consumer_defaults() {
  static const properties p = {
      // Positions are the mirror's own (committed with the local output),
      // never the cluster's group offsets.
      {"enable.auto.commit", "false"},
      // assign() needs a group id; the mirror never joins or commits to it.
      {"group.id", "kappa-mirror"},
      {"enable.auto.offset.store", "false"},
      // A position the cluster no longer has is reported, not skipped
      // silently: the mirror records the lost offsets.
      {"auto.offset.reset", "error"},
      {"reconnect.backoff.max.ms", "1000"},
      {"client.id", "kappa-mirror"},
  };
  return p;
}

Result<kafka_conf> make_conf(const mirror_record& m, const properties& defaults) {
  kafka_conf conf(rd_kafka_conf_new());
  char err[512];
  auto set = [&](const std::string& k, const std::string& v, bool user) -> Status {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      return Status::Invalid(user ? "-X " + k + "=" + v + ": " + err
                                  : "librdkafka refused " + k + "=" + v + ": " + err);
    return Status::OK();
  };
  KAPPA_RETURN_IF_ERROR(set("bootstrap.servers", m.bootstrap, false));
  for (const auto& [k, v] : defaults) KAPPA_RETURN_IF_ERROR(set(k, v, false));
  bool debug = false, no_idempotence = false, gapless_set = false;
  for (const auto& [k, v] : m.properties) {
    KAPPA_RETURN_IF_ERROR(set(k, v, true));
    debug |= k == "debug";
    no_idempotence |= k == "enable.idempotence" && v == "false";
    gapless_set |= k == "enable.gapless.guarantee";
  }
  // The gapless guarantee is the idempotent producer's: a user who turns
  // idempotence off turns it off too, unless they say otherwise.
  bool gapless_default = std::any_of(defaults.begin(), defaults.end(),
                                     [](const auto& kv) { return kv.first == "enable.gapless.guarantee"; });
  if (no_idempotence && !gapless_set && gapless_default)
    KAPPA_RETURN_IF_ERROR(set("enable.gapless.guarantee", "false", false));
  if (!debug) rd_kafka_conf_set_log_cb(conf.get(), quiet_log);
  return conf;
}

Result<kafka_handle> make_client(rd_kafka_type_t type, kafka_conf conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (!rk) return Status::Invalid(std::string("librdkafka refused the configuration: ") + err);
  conf.release();  // rd_kafka_new owns it now
  return kafka_handle(rk);
}

std::string error_text(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

bool is_link_error(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return true;
    default:
      return false;
  }
}

void link_reporter::down(const std::string& why) {
  std::string say;
  {
    std::lock_guard<std::mutex> l(mu_);
    why_ = why;
    if (down_) return;
    down_ = true;
    say = who_ + ": cannot reach " + bootstrap_ + " (" + why +
          "); waiting for it, retrying with backoff (nothing is lost: records wait in the log)";
  }
  if (note_) note_(say);
}

void link_reporter::up() {
  if (!down_.load(std::memory_order_relaxed)) return;
  std::string say;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!down_) return;
    down_ = false;
    why_.clear();
    say = who_ + ": " + bootstrap_ + " is reachable again; catching up";
  }
  if (note_) note_(say);
}

bool link_reporter::is_down() const { return down_.load(std::memory_order_relaxed); }

std::string link_reporter::last_error() const {
  std::lock_guard<std::mutex> l(mu_);
  return why_;
}

}  // namespace kappa::mirror_detail
