// librdkafka handles for the mirror: configurations built from a mirror's
// -X properties over kappa's defaults, owned handles, and the one-line
// "waiting for the cluster" / "back" reporting.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "kappa/catalog.h"
#include "kappa/status.h"

namespace kappa::mirror_detail {

using properties = std::vector<std::pair<std::string, std::string>>;

struct handle_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using kafka_handle = std::unique_ptr<rd_kafka_t, handle_deleter>;

struct conf_deleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using kafka_conf = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;

// What the mirror sets unless the user's -X says otherwise.
const properties& producer_defaults();
const properties& consumer_defaults();

// bootstrap.servers, then `defaults`, then the mirror's -X properties.
// Invalid names the property librdkafka refused and why. librdkafka's own
// log lines (one per failed connection attempt) are kept off stderr unless
// -X debug=... asks for them: the mirror says what matters once.
Result<kafka_conf> make_conf(const mirror_record& m, const properties& defaults);
// Creates a client from conf (taken over). Invalid with librdkafka's reason.
Result<kafka_handle> make_client(rd_kafka_type_t type, kafka_conf conf);

// "Error code 3 (Unknown topic or partition)" style text of an error.
std::string error_text(rd_kafka_resp_err_t err);
// Errors that say the cluster cannot be reached (as opposed to refusing).
bool is_link_error(rd_kafka_resp_err_t err);

// Says once that the cluster cannot be reached, and once that it is back.
// Thread-safe: librdkafka's error callback runs on its own thread.
class link_reporter {
 public:
  link_reporter(std::string who, std::string bootstrap, std::function<void(const std::string&)> note)
      : who_(std::move(who)), bootstrap_(std::move(bootstrap)), note_(std::move(note)) {}
  void down(const std::string& why);
  void up();
  bool is_down() const;
  std::string last_error() const;

 private:
  std::string who_, bootstrap_;
  std::function<void(const std::string&)> note_;
  mutable std::mutex mu_;
  std::atomic<bool> down_{false};  // read without the lock: up() runs per delivered record
  std::string why_;
};

}  // namespace kappa::mirror_detail
