// The --from direction of kappa mirror: a librdkafka consumer reads each
// cluster partition from the mirror's own position and appends its records
// to the same partition of the local topic (prefix + name).
//
// Exactly once, as sessionize: a checkpoint syncs the local partitions it
// wrote, then commits in one catalog transaction each partition's next
// cluster offset together with the local end it corresponds to
// (output_end). A restart cuts each local partition back to output_end
// before its appender opens and fetches from `next`, so what a crash left
// after the checkpoint is written again, once. A partition seen for the
// first time gets its starting position committed before anything is
// appended to it, for the same reason.
//
// The consumer never joins a group and never commits to the cluster: it is
// assigned explicit offsets. auto.offset.reset=error makes a position the
// cluster's retention has passed an error event, which the puller turns
// into a reported loss and a jump to the low watermark; so is a fetch that
// jumps over offsets below the log start the cluster reports with it (a
// jump above it is compaction's, not a loss).
#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <thread>
#include <vector>

#include "kappa/mirror.h"
#include "log/topic_name.h"
#include "mirror/kafka_client.h"
#include "mirror/run_setup.h"
#include "util/clock.h"

namespace kappa::mirror_detail {

namespace {

// How long a metadata or watermark request may block the loop: stop()
// must make run() return within a few seconds.
constexpr int kRequestTimeoutMs = 2000;
// One poll's wait: how quickly stop() and the timers are noticed.
constexpr int kPollMs = 100;
// Without --follow, topics the first scan could not use (a partition
// without a leader yet) are looked for again this often.
constexpr int64_t kRetryScanMs = 1000;

// One cluster partition and the local partition it is pulled into.
struct partition_run {
  int32_t partition = 0;
  std::unique_ptr<partition_appender> out;
  mirror_progress p;           // p.next advances with each appended record
  int64_t target = -1;         // without --follow: the high watermark at start
  bool dirty = false;          // p differs from what the catalog holds
  bool reset_pending = false;  // an out-of-range position waits for watermarks
};

struct topic_run {
  std::string name;  // the cluster's
  topic_meta local;
  std::vector<partition_run> parts;
};

class puller final : public mirror {
 public:
  explicit puller(run_setup s) : s_(std::move(s)), link_(s_.label, s_.m.bootstrap, s_.note) {}

  Status run() override;

 private:
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);

  void say(const std::string& text) {
    if (s_.note) s_.note(text);
  }
  std::string where(const std::string& topic, int32_t partition) const {
    return s_.label + ": topic " + topic + " partition " + std::to_string(partition);
  }

  Status connect();
  // Looks the cluster's topics up and takes on the matching ones not
  // known yet. A cluster that cannot be reached is not an error here.
  Status scan();
  Status add_topic(const rd_kafka_metadata_topic_t& t);
  Status resume(topic_run& t, partition_run& pr, const mirror_progress& saved);
  Status assign();
  Status on_message(const rd_kafka_message_t& msg);
  void on_partition_error(const rd_kafka_message_t& msg);
  void reset_positions();
  void record_loss(const std::string& topic, partition_run& pr, int64_t first, int64_t last);
  partition_run* find(std::string_view topic, int32_t partition);
  Status checkpoint();
  bool all_done() const;

  run_setup s_;
  link_reporter link_;
  kafka_handle rk_;
  std::map<std::string, topic_run, std::less<>> topics_;
  std::map<std::pair<std::string, int32_t>, mirror_progress> saved_;  // from the catalog, not resumed yet
  bool scanned_ = false;                                              // a scan has succeeded
  bool incomplete_ = false;                                           // a matching topic could not be taken on yet
  bool reassign_ = false;                                             // positions changed outside the fetch (a reset)
  bool link_was_down_ = false;
  // Set when a partition may have reached its target or needs a reset, so
  // that the per-record path does not look at every partition.
  bool maybe_done_ = true;
  bool resets_pending_ = false;
  std::set<std::string> grown_;               // cluster topics said to have gained partitions
  std::vector<record_header> headers_;        // reused for each record
  std::vector<partition_appender*> to_sync_;  // reused by checkpoint
  std::vector<mirror_progress> to_commit_;    // reused by checkpoint
};

void puller::on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<puller*>(opaque);
  auto e = static_cast<rd_kafka_resp_err_t>(err);
  if (is_link_error(e))
    self->link_.down(reason);
  else if (e == RD_KAFKA_RESP_ERR__FATAL)
    self->say(self->s_.label + ": librdkafka: " + reason);
}

Status puller::connect() {
  KAPPA_ASSIGN_OR_RETURN(kafka_conf conf, make_conf(s_.m, consumer_defaults()));
  char err[512];
  auto set = [&](const char* k, const std::string& v) -> Status {
    if (rd_kafka_conf_set(conf.get(), k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      return Status::Invalid(std::string("librdkafka refused ") + k + "=" + v + ": " + err);
    return Status::OK();
  };
  // librdkafka 2.0.2 refuses assign() without a group.id (_UNKNOWN_GROUP),
  // though nothing is ever committed under it; -X group.id may name one
  // the cluster's ACLs allow.
  bool has_group = std::any_of(s_.m.properties.begin(), s_.m.properties.end(),
                               [](const auto& kv) { return kv.first == "group.id"; });
  if (!has_group) KAPPA_RETURN_IF_ERROR(set("group.id", "kappa-mirror-" + s_.m.name));
  // assign() forwards every partition's fetch queue to the one consumer
  // queue, and librdkafka 2.0.2 compares that queue's length with
  // queued.min.messages (default 100000) for each partition: past it no
  // partition is fetched until the broker thread looks again, up to a second
  // later, so a pull of many partitions got about 100000 records a second.
  // queued.max.messages.kbytes (64 MiB by default) still bounds the prefetch.
  bool has_min = std::any_of(s_.m.properties.begin(), s_.m.properties.end(),
                             [](const auto& kv) { return kv.first == "queued.min.messages"; });
  if (!has_min) KAPPA_RETURN_IF_ERROR(set("queued.min.messages", "10000000"));
  // The end-of-partition event says where a partition ends even when its
  // last offsets are no records (transaction markers, compaction).
  KAPPA_RETURN_IF_ERROR(set("enable.partition.eof", "true"));
  rd_kafka_conf_set_error_cb(conf.get(), &puller::on_error);
  rd_kafka_conf_set_opaque(conf.get(), this);
  KAPPA_ASSIGN_OR_RETURN(rk_, make_client(RD_KAFKA_CONSUMER, std::move(conf)));
  return Status::OK();
}

Status puller::scan() {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk_.get(), 1, nullptr, &md, kRequestTimeoutMs);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (is_link_error(e)) link_.down(error_text(e));
    return Status::OK();
  }
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> hold(md, rd_kafka_metadata_destroy);
  link_.up();
  incomplete_ = false;
  for (int i = 0; i < md->topic_cnt; i++) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    std::string_view name = t.topic;
    // Internal topics (__consumer_offsets) only when listed by name.
    if (s_.filter.is_regex() && name.starts_with("__")) continue;
    if (!s_.filter.matches(t.topic)) continue;
    if (auto known = topics_.find(name); known != topics_.end()) {
      // Partitions added to the cluster topic: a kappa topic cannot grow, so
      // they are not pulled; said once.
      if (t.partition_cnt > static_cast<int>(known->second.parts.size()) && grown_.insert(known->first).second)
        say(s_.label + ": cluster topic " + known->first + " now has " + std::to_string(t.partition_cnt) +
            " partitions and local topic " + known->second.local.name + " " +
            std::to_string(known->second.parts.size()) +
            ": the new partitions are not pulled (a kappa topic cannot gain partitions; to pull them, delete the "
            "mirror and " + known->second.local.name + " and create them again)");
      continue;
    }
    KAPPA_RETURN_IF_ERROR(add_topic(t));
  }
  if (!scanned_) {
    // Said once: a listed topic the cluster does not have (yet).
    for (const auto& n : s_.filter.names()) {
      bool listed = false;
      for (int i = 0; i < md->topic_cnt && !listed; i++) listed = n == md->topics[i].topic;
      if (!listed)
        say(s_.label + ": topic " + n + " is not on " + s_.m.bootstrap +
            (s_.follow ? "; it is pulled once it appears" : "; nothing to pull from it"));
    }
  }
  scanned_ = true;
  return Status::OK();
}

Status puller::add_topic(const rd_kafka_metadata_topic_t& t) {
  if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partition_cnt <= 0) {
    incomplete_ = true;  // being created, or no leader yet: next scan
    return Status::OK();
  }
  topic_run tr;
  tr.name = t.topic;
  std::string local = mirror::destination_of(s_.m, tr.name);
  if (Status st = validate_topic_name(local); !st.ok())
    return Status::IOError(s_.label + ": cluster topic " + tr.name + " cannot be pulled into local topic " + local +
                           " (" + st.message() + "); choose another --prefix or leave the topic out of --topics");
  auto have = s_.dd->topic(local);
  if (have.ok()) {
    if (have->partitions < t.partition_cnt)
      return Status::IOError(s_.label + ": local topic " + local + " has " + std::to_string(have->partitions) +
                             " partition(s) but cluster topic " + tr.name + " has " + std::to_string(t.partition_cnt) +
                             "; partition N is pulled into partition N, so it needs at least as many (delete it, "
                             "or create it with --partitions " +
                             std::to_string(t.partition_cnt) + ")");
    tr.local = std::move(have.value());
  } else {
    if (!have.status().is_not_found()) return have.status();
    topic_meta mt;
    mt.name = local;
    mt.partitions = t.partition_cnt;
    mt.created_ms = wall_clock_ms();
    Status st = s_.dd->create_topic(mt);
    if (!st.ok() && !st.is_exists()) return st;
    KAPPA_ASSIGN_OR_RETURN(tr.local, s_.dd->topic(local));
    say(s_.label + ": created local topic " + local + " with " + std::to_string(t.partition_cnt) +
        " partition(s) for cluster topic " + tr.name);
  }

  // Each partition's watermarks: where a new one starts, and (without
  // --follow) where it ends. A failure leaves the whole topic to the next
  // scan, before anything is committed for it.
  std::vector<std::pair<int64_t, int64_t>> marks(t.partition_cnt);
  for (int32_t p = 0; p < t.partition_cnt; p++) {
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk_.get(), tr.name.c_str(), p, &marks[p].first,
                                                             &marks[p].second, kRequestTimeoutMs);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (is_link_error(e)) link_.down(error_text(e));
      incomplete_ = true;
      return Status::OK();
    }
  }

  tr.parts.resize(t.partition_cnt);
  std::vector<mirror_progress> fresh;
  for (int32_t p = 0; p < t.partition_cnt; p++) {
    partition_run& pr = tr.parts[p];
    pr.partition = p;
    KAPPA_ASSIGN_OR_RETURN(pr.out, s_.dd->open_appender(tr.local, p));
    auto [low, high] = marks[p];
    pr.target = s_.follow ? -1 : high;
    auto saved = saved_.find({tr.name, p});
    if (saved != saved_.end()) {
      KAPPA_RETURN_IF_ERROR(resume(tr, pr, saved->second));
      saved_.erase(saved);
      pr.dirty = pr.p.source_end != high;
      pr.p.source_end = high;
    } else {
      // First sight: a log start already past "earliest" is not a loss.
      KAPPA_RETURN_IF_ERROR(pr.out->open_now());
      pr.p.topic = tr.name;
      pr.p.partition = p;
      pr.p.next = s_.m.from_latest ? high : low;
      pr.p.output_end = pr.out->next_offset();
      pr.p.time_ms = wall_clock_ms();
      pr.p.source_end = high;
      fresh.push_back(pr.p);
      if (pr.p.output_end > 0)
        say(s_.label + ": " + partition_name(tr.local.name, p) + " already holds " + std::to_string(pr.p.output_end) +
            " record(s); cluster offset " + std::to_string(pr.p.next) + " and on are appended after them");
    }
  }
  // The starting positions are committed before anything is appended: a
  // kill -9 before the first checkpoint then cuts back to them.
  if (!fresh.empty()) KAPPA_RETURN_IF_ERROR(s_.dd->catalog()->commit_mirror_progress(s_.m.name, fresh));
  topics_.emplace(tr.name, std::move(tr));
  reassign_ = true;
  return Status::OK();
}

Status puller::resume(topic_run& t, partition_run& pr, const mirror_progress& saved) {
  pr.p = saved;
  int64_t at;
  {
    KAPPA_ASSIGN_OR_RETURN(auto r, s_.dd->open_reader(t.local, pr.partition));
    KAPPA_ASSIGN_OR_RETURN(at, r->log_end_offset());
  }
  std::string local = partition_name(t.local.name, pr.partition);
  if (at < saved.output_end)
    return Status::Corruption(local + " ends at offset " + std::to_string(at) + ", before offset " +
                              std::to_string(saved.output_end) + " where " + s_.label +
                              "'s progress says it reached: records it pulled are gone (was the topic deleted?); "
                              "to pull again from the start, `kappa mirror delete " +
                              s_.m.name + "`, delete " + t.local.name + " and create the mirror again");
  if (at > saved.output_end) {
    KAPPA_RETURN_IF_ERROR(pr.out->truncate_to(saved.output_end));
    say(s_.label + ": " + local + ": removed offsets " + std::to_string(saved.output_end) + ".." +
        std::to_string(at - 1) + ", written after the last checkpoint; they are pulled again from cluster offset " +
        std::to_string(saved.next));
  }
  return pr.out->open_now();
}

Status puller::assign() {
  reassign_ = false;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(0);
  for (auto& [name, t] : topics_)
    for (auto& pr : t.parts) {
      if (pr.target >= 0 && pr.p.next >= pr.target) continue;  // done
      rd_kafka_topic_partition_list_add(list, name.c_str(), pr.partition)->offset = pr.p.next;
    }
  rd_kafka_resp_err_t e = rd_kafka_assign(rk_.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Status::Invalid(s_.label + ": librdkafka refused the assignment: " + error_text(e));
  return Status::OK();
}

partition_run* puller::find(std::string_view topic, int32_t partition) {
  auto it = topics_.find(topic);
  if (it == topics_.end() || partition < 0 || partition >= static_cast<int32_t>(it->second.parts.size()))
    return nullptr;
  return &it->second.parts[partition];
}

Status puller::on_message(const rd_kafka_message_t& msg) {
  const char* topic = rd_kafka_topic_name(msg.rkt);
  partition_run* pr = find(topic, msg.partition);
  // A record below the position was fetched before a reassignment.
  if (!pr || msg.offset < pr->p.next) return Status::OK();
  if (msg.offset > pr->p.next) {
    // A gap: compaction's (not a loss), unless the cluster's log start
    // (as the fetch that brought this record said) passed the position,
    // as when retention removed records while they were being fetched.
    int64_t low, high;
    if (rd_kafka_get_watermark_offsets(rk_.get(), topic, msg.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        low > pr->p.next)
      record_loss(topic, *pr, pr->p.next, std::min(low, msg.offset) - 1);
  }
  headers_.clear();
  rd_kafka_headers_t* hs = nullptr;
  if (rd_kafka_message_headers(&msg, &hs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
      headers_.push_back(
          {name, value ? bytes_view{static_cast<const char*>(value), static_cast<int32_t>(size)} : bytes_view::null()});
  }
  auto bytes = [](const void* p, size_t n) {
    return p ? bytes_view{static_cast<const char*>(p), static_cast<int32_t>(n)} : bytes_view::null();
  };
  int64_t ts = rd_kafka_message_timestamp(&msg, nullptr);
  if (ts < 0) ts = wall_clock_ms();  // a pre-0.10 record has none
  Status st = pr->out->append(ts, bytes(msg.key, msg.key_len), bytes(msg.payload, msg.len), headers_);
  if (!st.ok())
    return st.with_context(where(topic, msg.partition) + " offset " + std::to_string(msg.offset) +
                           ": cannot append it locally");
  maybe_done_ |= pr->p.next < pr->target && msg.offset + 1 >= pr->target;
  pr->p.next = msg.offset + 1;
  pr->p.next_ts = ts;
  pr->dirty = true;
  if (!pr->p.last_error.empty()) pr->p.last_error.clear();  // records flow again
  return Status::OK();
}

void puller::on_partition_error(const rd_kafka_message_t& msg) {
  std::string topic = rd_kafka_topic_name(msg.rkt);
  partition_run* pr = find(topic, msg.partition);
  if (!pr) return;
  if (msg.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    // Everything below the end was delivered: offsets that are no records
    // (transaction markers) count as pulled.
    pr->p.next = std::max(pr->p.next, msg.offset);
    pr->p.source_end = std::max(pr->p.source_end, msg.offset);
    pr->dirty = true;
    maybe_done_ = true;
    link_.up();
    return;
  }
  if (msg.err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || msg.err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
    pr->reset_pending = true;
    resets_pending_ = true;
    return;
  }
  std::string why = error_text(msg.err);
  if (pr->p.last_error != why) {
    say(where(topic, msg.partition) + ": " + why + "; retrying");
    pr->p.last_error = why;
    pr->dirty = true;
  }
}

// Positions the cluster no longer has: below the low watermark the records
// are lost (retention removed them before they were pulled); above the
// high watermark the cluster's log was cut back (a recreated topic).
void puller::reset_positions() {
  resets_pending_ = false;
  maybe_done_ = true;
  for (auto& [name, t] : topics_)
    for (auto& pr : t.parts) {
      if (!pr.reset_pending) continue;
      int64_t low, high;
      rd_kafka_resp_err_t e =
          rd_kafka_query_watermark_offsets(rk_.get(), name.c_str(), pr.partition, &low, &high, kRequestTimeoutMs);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (is_link_error(e)) link_.down(error_text(e));
        resets_pending_ = true;  // tried again on the next round
        return;
      }
      pr.reset_pending = false;
      pr.p.source_end = high;
      if (pr.p.next < low) {
        record_loss(name, pr, pr.p.next, low - 1);
        pr.p.next = low;
      } else if (pr.p.next > high) {
        pr.p.last_error = "the cluster's partition ends at offset " + std::to_string(high) +
                          ", before the mirror's position " + std::to_string(pr.p.next);
        say(where(name, pr.partition) + ": " + pr.p.last_error + " (was the topic recreated?); going on from offset " +
            std::to_string(high));
        pr.p.next = high;
      }
      pr.dirty = true;
      reassign_ = true;
    }
}

void puller::record_loss(const std::string& topic, partition_run& pr, int64_t first, int64_t last) {
  say(where(topic, pr.partition) + ": offsets " + std::to_string(first) + ".." + std::to_string(last) +
      " were removed by the cluster's retention before they were pulled; they are lost (listed by `kappa mirror "
      "status " +
      s_.m.name + "`); going on from offset " + std::to_string(last + 1));
  if (!pr.p.lost.empty() && pr.p.lost.back().second + 1 == first)
    pr.p.lost.back().second = last;
  else
    pr.p.lost.emplace_back(first, last);
  pr.dirty = true;
}

Status puller::checkpoint() {
  // The link's state is each partition's last error while it is down.
  bool down = link_.is_down();
  std::string link_error = down ? "cannot reach " + s_.m.bootstrap + ": " + link_.last_error() : "";
  to_sync_.clear();
  to_commit_.clear();
  for (auto& [name, t] : topics_)
    for (auto& pr : t.parts) {
      int64_t low, high;
      if (rd_kafka_get_watermark_offsets(rk_.get(), name.c_str(), pr.partition, &low, &high) ==
              RD_KAFKA_RESP_ERR_NO_ERROR &&
          high >= 0 && high != pr.p.source_end) {
        pr.p.source_end = high;
        pr.dirty = true;
      }
      if (down != link_was_down_ && (down || pr.p.last_error.starts_with("cannot reach "))) {
        pr.p.last_error = link_error;
        pr.dirty = true;
      }
      if (!pr.dirty) continue;
      to_sync_.push_back(pr.out.get());
      pr.p.output_end = pr.out->next_offset();
      pr.p.time_ms = wall_clock_ms();
      to_commit_.push_back(pr.p);
    }
  link_was_down_ = down;
  if (to_commit_.empty()) return Status::OK();
  // The local records first: what the progress says was written must be durable.
  KAPPA_RETURN_IF_ERROR(partition_appender::sync_all(to_sync_));
  Status st = s_.dd->catalog()->commit_mirror_progress(s_.m.name, to_commit_);
  if (st.is_not_found()) {  // `kappa mirror delete` while it ran
    stop_ = true;
    say(s_.label + ": the mirror was deleted; stopping");
    return Status::OK();
  }
  KAPPA_RETURN_IF_ERROR(st);
  for (auto& [name, t] : topics_)
    for (auto& pr : t.parts) pr.dirty = false;
  return Status::OK();
}

bool puller::all_done() const {
  if (!scanned_ || incomplete_) return false;
  for (const auto& [name, t] : topics_)
    for (const auto& pr : t.parts)
      if (pr.p.next < pr.target || pr.reset_pending) return false;
  return true;
}

Status puller::run() {
  KAPPA_RETURN_IF_ERROR(connect());
  KAPPA_ASSIGN_OR_RETURN(auto progress, s_.dd->catalog()->mirror_progress_of(s_.m.name));
  for (auto& p : progress) saved_[{p.topic, p.partition}] = std::move(p);

  // Whatever ends the loop, what was appended is committed on the way out.
  Status st;
  int64_t last_scan = 0, last_commit = steady_clock_ms();
  while (!stop_.load(std::memory_order_relaxed)) {
    int64_t now = steady_clock_ms();
    bool rescan =
        !scanned_ || (incomplete_ && now - last_scan >= kRetryScanMs) || (s_.follow && now - last_scan >= kTopicScanMs);
    if (rescan) {
      last_scan = now;
      if (st = scan(); !st.ok()) break;
      maybe_done_ = true;
      if (!scanned_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));  // the link is down: try again
        continue;
      }
    }
    if (resets_pending_) reset_positions();
    if (reassign_ && (st = assign(), !st.ok())) break;
    if (!s_.follow && maybe_done_) {
      maybe_done_ = false;
      if (all_done()) break;
    }

    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_.get(), kPollMs);
    if (msg) {
      std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> hold(msg, rd_kafka_message_destroy);
      if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        link_.up();
        if (st = on_message(*msg); !st.ok()) break;
      } else if (msg->rkt) {
        on_partition_error(*msg);
      } else if (is_link_error(msg->err)) {
        link_.down(rd_kafka_message_errstr(msg));
      }
    }
    if (steady_clock_ms() - last_commit >= kCommitEveryMs) {
      if (st = checkpoint(); !st.ok()) break;
      last_commit = steady_clock_ms();
    }
  }
  Status last = checkpoint();
  rd_kafka_assign(rk_.get(), nullptr);
  return st.ok() ? last : st;
}

}  // namespace

std::unique_ptr<mirror> make_puller(run_setup s) { return std::make_unique<puller>(std::move(s)); }

}  // namespace kappa::mirror_detail
