// The --to direction of kappa mirror: local topics forwarded to a Kafka
// cluster by librdkafka's idempotent producer, store and forward.
//
// Each source partition is read from its confirmed position and produced to
// the same partition of the destination topic. Delivery reports arrive in
// order per partition (idempotence); each moves the partition's confirmed
// position, which is committed to the catalog every second. Every record
// carries kMirrorOffsetHeader, its source offset: a restart reads the
// destination's last record and resumes after it, so records confirmed
// after the last commit are not sent twice. While the cluster is away
// records stay queued (message.timeout.ms=0) and the rest wait in the log.
//
// A delivery that fails for good (the destination refuses a record), and a
// fatal producer error, reset the producer: it is destroyed, and after a
// backoff a new one starts again from each destination's real end.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <thread>

#include "kappa/log.h"
#include "mirror/kafka_client.h"
#include "mirror/run_setup.h"
#include "util/clock.h"

namespace kappa::mirror_detail {
namespace {

constexpr int kClusterTimeoutMs = 3000;       // one metadata or watermark request
constexpr int64_t kRetryPrepareMs = 2000;     // a destination not ready yet is tried again after this
constexpr size_t kRecordsPerTurn = 512;       // records read from one partition before the next gets a turn
constexpr int64_t kMaxResetBackoffMs = 30000;

struct dest_topic;

// One source partition and where it stands.
struct source_partition {
  dest_topic* topic = nullptr;
  int32_t partition = 0;
  std::string name;  // "topic clicks partition 0"
  std::unique_ptr<partition_reader> reader;
  bool ready = false;         // the destination is checked and its end found
  bool has_progress = false;  // the catalog has an entry
  int64_t sent = 0;           // the next source offset to produce
  int64_t confirmed = 0;      // the next source offset not yet confirmed
  int64_t committed = -1;     // `confirmed` as the catalog has it
  int64_t dest_floor = -1;    // the destination's end when the mirror began writing it
  int64_t in_flight = 0;      // produced, not yet reported
  int64_t target = -1;        // run without follow: the source's end at the start
  std::vector<std::pair<int64_t, int64_t>> lost;
  std::string last_error;
  bool dirty = false;  // lost or last_error changed since the last commit
};

// A source topic and its destination.
struct dest_topic {
  topic_meta source;
  std::string dest;
  rd_kafka_topic_t* rkt = nullptr;
  bool checked = false;  // the destination exists with enough partitions
  int64_t next_try_ms = 0;
  std::vector<source_partition> parts;
};

class forwarder final : public mirror {
 public:
  explicit forwarder(run_setup s) : s_(std::move(s)), link_(s_.label, s_.m.bootstrap, s_.note) {}
  ~forwarder() override { close_producer(); }

  Status run() override {
    KAPPA_ASSIGN_OR_RETURN(auto progress, s_.dd->catalog()->mirror_progress_of(s_.m.name));
    for (auto& p : progress) progress_[{p.topic, p.partition}] = std::move(p);
    KAPPA_RETURN_IF_ERROR(scan_topics());
    if (topics_.empty())
      say("no local topic matches " + s_.m.topics + " yet" + (s_.follow ? "; waiting for one" : ""));
    KAPPA_RETURN_IF_ERROR(open_producer());
    int64_t last_scan = steady_clock_ms(), last_commit = steady_clock_ms();
    log_watcher watcher;
    for (auto& t : topics_)
      for (auto& p : t->parts) (void)watcher.add(s_.dd->partition_dir(t->source.name, p.partition));

    Status result;
    while (!stop_.load(std::memory_order_relaxed)) {
      int64_t now = steady_clock_ms();
      if (s_.follow && now - last_scan >= kTopicScanMs) {
        size_t before = topics_.size();
        KAPPA_RETURN_IF_ERROR(scan_topics());
        for (size_t i = before; i < topics_.size(); i++)
          for (auto& p : topics_[i]->parts) (void)watcher.add(s_.dd->partition_dir(topics_[i]->source.name, p.partition));
        last_scan = now;
      }
      if (reset_asked_) {
        // The delivery reports of the failed batch name its records.
        rd_kafka_poll(rk_.get(), 200);
        std::string why = !failure_.empty() ? failure_ : "a record (" + fatal_text_ + ")";
        if (!s_.follow) {
          result = Status::IOError("the cluster refused " + why + "; what was confirmed before it is kept (kappa mirror status " +
                                   s_.m.name + "), and the next run starts again there");
          break;
        }
        if (said_.insert("refused " + why).second)
          say("the cluster refused " + why + "; retrying with a new producer, with backoff (mend the destination, e.g. its "
              "max.message.bytes or ACLs)");
        KAPPA_RETURN_IF_ERROR(reset());
        continue;
      }
      Status st = prepare_destinations();
      if (!st.ok()) {
        result = st;
        break;
      }
      KAPPA_ASSIGN_OR_RETURN(bool produced, produce_some());
      rd_kafka_poll(rk_.get(), 0);
      if (steady_clock_ms() - last_commit >= kCommitEveryMs) {
        KAPPA_RETURN_IF_ERROR(commit());
        last_commit = steady_clock_ms();
      }
      if (!s_.follow && all_done()) break;
      if (!produced) {
        // Nothing to read now: wait for delivery reports, or for appends.
        if (rd_kafka_outq_len(rk_.get()) > 0)
          rd_kafka_poll(rk_.get(), 50);
        else
          (void)watcher.wait(s_.follow ? 200 : 50);
      }
    }
    // Whatever is in flight gets a moment to be confirmed; then the
    // confirmed positions are committed and the rest is dropped (the next
    // run finds where the destination ends).
    if (rk_) rd_kafka_flush(rk_.get(), stop_ ? 2000 : 0);
    Status cst = commit();
    close_producer();
    KAPPA_RETURN_IF_ERROR(result);
    return cst;
  }

 private:
  void say(const std::string& s) {
    if (s_.note) s_.note(s_.label + ": " + s);
  }

  // Finds the local topics the mirror forwards (new ones while following).
  Status scan_topics() {
    KAPPA_ASSIGN_OR_RETURN(auto topics, s_.dd->catalog()->list_topics());
    for (auto& t : topics) {
      if (!s_.filter.matches(t.name) || known_.count(t.name)) continue;
      known_.insert(t.name);
      auto d = std::make_unique<dest_topic>();
      d->source = t;
      d->dest = mirror::destination_of(s_.m, t.name);
      d->parts.resize(static_cast<size_t>(t.partitions));
      for (int32_t p = 0; p < t.partitions; p++) {
        source_partition& sp = d->parts[static_cast<size_t>(p)];
        sp.topic = d.get();
        sp.partition = p;
        sp.name = partition_name(t.name, p);
        KAPPA_ASSIGN_OR_RETURN(sp.reader, s_.dd->open_reader(t, p));
        if (!s_.follow) {
          KAPPA_ASSIGN_OR_RETURN(sp.target, sp.reader->log_end_offset());
        }
      }
      topics_.push_back(std::move(d));
    }
    return Status::OK();
  }

  Status open_producer() {
    KAPPA_ASSIGN_OR_RETURN(kafka_conf conf, make_conf(s_.m, producer_defaults()));
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &forwarder::on_delivery);
    rd_kafka_conf_set_error_cb(conf.get(), &forwarder::on_error);
    KAPPA_ASSIGN_OR_RETURN(rk_, make_client(RD_KAFKA_PRODUCER, std::move(conf)));
    for (auto& t : topics_)
      if (t->checked) open_topic(*t);
    return Status::OK();
  }

  // The producer's handle of a destination topic, made only once the topic
  // is known to exist: a handle asks the cluster for the topic's metadata,
  // which a broker with auto.create.topics.enable answers by creating it
  // with its default partition count.
  void open_topic(dest_topic& t) {
    rd_kafka_topic_conf_t* tc = rd_kafka_topic_conf_new();
    rd_kafka_topic_conf_set_opaque(tc, &t);
    t.rkt = rd_kafka_topic_new(rk_.get(), t.dest.c_str(), tc);
  }

  void close_producer() {
    if (!rk_) return;
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_.get(), 0);
    for (auto& t : topics_) {
      if (t->rkt) rd_kafka_topic_destroy(t->rkt);
      t->rkt = nullptr;
    }
    tail_reader_.reset();
    rk_.reset();
  }

  // A failed delivery or a fatal producer error: start again with a new
  // producer from each destination's real end, after a backoff.
  Status reset() {
    reset_asked_ = false;
    failure_.clear();
    fatal_text_.clear();
    pending_ = queue_full_ = false;
    close_producer();
    for (auto& t : topics_)
      for (auto& p : t->parts) {
        p.ready = false;
        p.in_flight = 0;
      }
    KAPPA_RETURN_IF_ERROR(commit());
    int64_t until = steady_clock_ms() + reset_backoff_ms_;
    while (!stop_ && steady_clock_ms() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reset_backoff_ms_ = std::min(reset_backoff_ms_ * 2, kMaxResetBackoffMs);
    return open_producer();
  }

  // Makes sure each destination topic exists with enough partitions and
  // finds where each of its partitions really ends.
  Status prepare_destinations() {
    int64_t now = steady_clock_ms();
    for (auto& t : topics_) {
      bool pending = !t->checked;
      for (auto& p : t->parts) pending |= !p.ready;
      if (!pending || now < t->next_try_ms) continue;
      t->next_try_ms = now + kRetryPrepareMs;
      if (!t->checked) {
        KAPPA_ASSIGN_OR_RETURN(bool ok, check_destination(*t));
        if (!ok) continue;
      }
      for (auto& p : t->parts)
        if (!p.ready) {
          KAPPA_ASSIGN_OR_RETURN(bool ok, find_start(p));
          if (!ok) break;
        }
    }
    return Status::OK();
  }

  // The destination's partition count (0 = no such topic; -1 = no answer).
  int destination_partitions(const std::string& dest) {
    const rd_kafka_metadata_t* md = nullptr;
    // All topics: asking for one by name would let the broker auto-create
    // it with its default partition count.
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 1, nullptr, &md, kClusterTimeoutMs);
    if (err) {
      link_.down(error_text(err));
      return -1;
    }
    link_.up();
    int n = 0;
    for (int i = 0; i < md->topic_cnt; i++)
      if (dest == md->topics[i].topic && !md->topics[i].err) n = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
  }

  Result<bool> check_destination(dest_topic& t) {
    int have = destination_partitions(t.dest);
    if (have < 0) return false;
    if (have == 0) {
      KAPPA_ASSIGN_OR_RETURN(bool created, create_destination(t));
      if (!created) return false;
      have = destination_partitions(t.dest);
      if (have <= 0) return false;
    }
    if (have < t.source.partitions)
      return Status::IOError("destination topic " + t.dest + " has " + std::to_string(have) + " partitions and topic " +
                             t.source.name + " has " + std::to_string(t.source.partitions) +
                             ": each partition is forwarded to the same partition, so add partitions to " + t.dest +
                             " (kafka-topics --alter --partitions " + std::to_string(t.source.partitions) + ")");
    t.checked = true;
    open_topic(t);
    return true;
  }

  // CreateTopics with the source's partition count and the cluster's
  // default replication. false: not now (unreachable), try again later.
  Result<bool> create_destination(dest_topic& t) {
    char err[256];
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.dest.c_str(), t.source.partitions, -1, err, sizeof err);
    if (!nt) return Status::Invalid("cannot describe topic " + t.dest + " to create it: " + err);
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk_.get());
    rd_kafka_AdminOptions_t* opt = rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opt, kClusterTimeoutMs, err, sizeof err);
    rd_kafka_CreateTopics(rk_.get(), &nt, 1, opt, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, kClusterTimeoutMs + 2000);
    // The cluster answered metadata a moment ago, so a failure here is
    // about creating topics (a cluster without CreateTopics, such as
    // librdkafka's mock, times out waiting for its controller).
    Result<bool> out = false;
    std::string why;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (ev && rd_kafka_event_error(ev)) {
      e = rd_kafka_event_error(ev);
      why = rd_kafka_event_error_string(ev);
    } else if (ev) {
      size_t n = 0;
      const rd_kafka_topic_result_t** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
      e = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
      const char* w = n ? rd_kafka_topic_result_error_string(res[0]) : nullptr;
      why = w ? w : error_text(e);
    } else {
      why = "no answer to CreateTopics";
    }
    std::string create_it = "create it with " + std::to_string(t.source.partitions) + " partitions";
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      if (!e) say("created destination topic " + t.dest + " with " + std::to_string(t.source.partitions) + " partitions");
      out = true;
    } else if (e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || is_link_error(e)) {
      std::string msg = "destination topic " + t.dest + " does not exist, and creating it failed (" + why + "); " +
                        create_it + " (retrying every " + std::to_string(kRetryPrepareMs / 1000) + " s)";
      for (auto& p : t.parts) p.last_error = msg;
      if (said_.insert(msg).second) say(msg);
    } else {
      out = Status::IOError("cannot create destination topic " + t.dest + " (" + why + "): " + create_it);
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    return out;
  }

  // Where partition p resumes: after the last record the destination holds
  // from this mirror (its kMirrorOffsetHeader), or the committed position
  // if that is further. false: not now (unreachable).
  Result<bool> find_start(source_partition& p) {
    dest_topic& t = *p.topic;
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk_.get(), t.dest.c_str(), p.partition, &lo, &hi, kClusterTimeoutMs);
    if (err) {
      link_.down(error_text(err));
      return false;
    }
    link_.up();
    int64_t log_start = p.reader->log_start_offset();
    KAPPA_ASSIGN_OR_RETURN(int64_t log_end, p.reader->log_end_offset());
    auto stored = progress_.find({t.source.name, p.partition});
    int64_t resume;
    if (stored == progress_.end()) {
      // A new partition: the destination's end now is where this mirror's
      // records begin; committed before anything is sent.
      resume = s_.m.from_latest ? log_end : log_start;
      p.dest_floor = hi;
    } else {
      const mirror_progress& pr = stored->second;
      p.dest_floor = pr.dest_floor;
      p.lost = pr.lost;
      resume = pr.next;
      if (hi > std::max(pr.dest_floor, lo)) {
        KAPPA_ASSIGN_OR_RETURN(int64_t last, last_forwarded(t.dest, p.partition, hi - 1));
        if (last == -2) return false;  // no answer
        if (last == -1) {
          if (said_.insert("no header " + p.name).second)
            say("the last record of " + t.dest + " partition " + std::to_string(p.partition) + " has no " +
                kMirrorOffsetHeader + " header (another producer writes there?); resuming " + p.name +
                " from its committed offset " + std::to_string(pr.next));
        } else if (last + 1 > log_end) {
          return Status::Invalid(t.dest + " partition " + std::to_string(p.partition) + " already holds " + p.name +
                                 " up to offset " + std::to_string(last) + ", beyond its end " +
                                 std::to_string(log_end) +
                                 " here: was this data dir replaced? Delete and recreate the mirror with another "
                                 "--prefix, or empty the destination");
        } else {
          resume = std::max(resume, last + 1);
        }
      }
    }
    if (resume < log_start) {
      note_lost(p, resume, log_start - 1, "before they were forwarded");
      resume = log_start;
    }
    p.sent = p.confirmed = resume;
    p.has_progress = stored != progress_.end();
    KAPPA_RETURN_IF_ERROR(p.reader->seek(resume));
    p.ready = true;
    reset_backoff_ms_ = 1000;
    if (!p.has_progress) {
      p.committed = -1;
      KAPPA_RETURN_IF_ERROR(commit());
    }
    return true;
  }

  // The source offset in kMirrorOffsetHeader of the destination's record
  // at `offset`: -1 if it has none, -2 if the cluster did not answer.
  Result<int64_t> last_forwarded(const std::string& dest, int32_t partition, int64_t offset) {
    if (!tail_reader_) {
      KAPPA_ASSIGN_OR_RETURN(kafka_conf conf, make_conf(s_.m, consumer_defaults()));
      rd_kafka_conf_set(conf.get(), "enable.partition.eof", "true", nullptr, 0);
      KAPPA_ASSIGN_OR_RETURN(tail_reader_, make_client(RD_KAFKA_CONSUMER, std::move(conf)));
    }
    rd_kafka_t* c = tail_reader_.get();
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, dest.c_str(), partition)->offset = offset;
    rd_kafka_assign(c, list);
    rd_kafka_topic_partition_list_destroy(list);
    int64_t found = -2;
    int64_t until = steady_clock_ms() + 2 * kClusterTimeoutMs;
    while (found == -2 && steady_clock_ms() < until && !stop_) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (!m) continue;
      if (!m->err && m->partition == partition && m->offset >= offset) {
        found = -1;
        rd_kafka_headers_t* h = nullptr;
        const void* v = nullptr;
        size_t n = 0;
        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(h, kMirrorOffsetHeader, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v) {
          int64_t x = -1;
          auto [ptr, ec] = std::from_chars(static_cast<const char*>(v), static_cast<const char*>(v) + n, x);
          if (ec == std::errc() && ptr == static_cast<const char*>(v) + n && x >= 0) found = x;
        }
      } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && is_link_error(m->err)) {
        link_.down(rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(c, nullptr);
    return found;
  }

  void note_lost(source_partition& p, int64_t first, int64_t last, const char* when) {
    if (last < first) return;
    if (!p.lost.empty() && p.lost.back().second + 1 >= first)
      p.lost.back().second = std::max(p.lost.back().second, last);
    else
      p.lost.emplace_back(first, last);
    p.dirty = true;
    say("offsets " + std::to_string(first) + ".." + std::to_string(last) + " of " + p.name +
        " were removed by retention or the disk budget " + when + "; they are lost to " + p.topic->dest +
        " (kappa mirror status " + s_.m.name + " lists them); going on");
  }

  // Reads what is there and hands it to the producer, a turn per
  // partition. true if anything was produced.
  Result<bool> produce_some() {
    bool any = false;
    for (auto& t : topics_) {
      if (!t->checked || !t->rkt) continue;
      for (auto& p : t->parts) {
        if (!p.ready || reset_asked_) continue;
        KAPPA_ASSIGN_OR_RETURN(size_t n, produce_partition(p));
        any |= n > 0;
        if (queue_full_) return any;
      }
    }
    return any;
  }

  Result<size_t> produce_partition(source_partition& p) {
    size_t produced = 0;
    record_view recs[64];
    while (produced < kRecordsPerTurn) {
      if (!s_.follow && p.sent >= p.target) break;
      if (pending_ && pending_part_ != &p) break;
      size_t count = 0, first = 0;
      if (pending_) {
        // The record the queue had no room for last time.
        count = pending_count_;
        first = pending_index_;
        std::copy(pending_recs_, pending_recs_ + count, recs);
        pending_ = false;
      } else {
        KAPPA_ASSIGN_OR_RETURN(auto st, p.reader->next_many(recs, 64, &count));
        int64_t gap_from, gap_to;
        while (p.reader->take_removed_gap(&gap_from, &gap_to)) note_lost(p, gap_from, gap_to - 1, "before they were forwarded");
        if (st == partition_reader::status::corrupt) {
          const corruption_info& c = p.reader->corruption();
          return Status::Corruption(p.name + ": damaged batch at offset " + std::to_string(c.offset) + " in " +
                                    c.segment + " (" + c.why + "); run `kappa verify` and repair before forwarding");
        }
        if (st == partition_reader::status::end) {
          if (p.in_flight == 0) {
            // Nothing left behind it: the position (past any compacted
            // tail) is confirmed.
            int64_t pos = p.reader->position();
            if (pos > p.confirmed) p.confirmed = p.sent = pos;
          }
          break;
        }
      }
      for (size_t i = first; i < count; i++) {
        const record_view& r = recs[i];
        if (!s_.follow && r.offset >= p.target) {
          p.sent = p.target;
          return produced;
        }
        rd_kafka_resp_err_t err = produce_one(p, r);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          // Keep the rest of this batch for the next turn (the reader's
          // buffer stays valid until it moves on).
          pending_ = true;
          pending_part_ = &p;
          pending_index_ = i;
          pending_count_ = count;
          std::copy(recs, recs + count, pending_recs_);
          queue_full_ = true;
          rd_kafka_poll(rk_.get(), 10);
          return produced;
        }
        if (err) return Status::IOError(p.name + ": cannot hand offset " + std::to_string(r.offset) +
                                        " to the producer: " + error_text(err));
        p.sent = r.offset + 1;
        p.in_flight++;
        produced++;
      }
    }
    queue_full_ = false;
    return produced;
  }

  rd_kafka_resp_err_t produce_one(source_partition& p, const record_view& r) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(static_cast<size_t>(r.header_count) + 1);
    record_header hd;
    for (int32_t i = 0; record_header_at(r, i, &hd); i++)
      rd_kafka_header_add(h, hd.key.data(), static_cast<ssize_t>(hd.key.size()), hd.value.data,
                          hd.value.is_null() ? 0 : hd.value.size);
    char num[24];
    auto res = std::to_chars(num, num + sizeof num, r.offset);
    rd_kafka_header_add(h, kMirrorOffsetHeader, -1, num, res.ptr - num);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_RKT(p.topic->rkt), RD_KAFKA_V_PARTITION(p.partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(r.key.is_null() ? nullptr : r.key.data, r.key.is_null() ? 0 : static_cast<size_t>(r.key.size)),
        RD_KAFKA_V_VALUE(r.value.is_null() ? nullptr : const_cast<char*>(r.value.data ? r.value.data : ""),
                         r.value.is_null() ? 0 : static_cast<size_t>(r.value.size)),
        RD_KAFKA_V_TIMESTAMP(r.timestamp), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<intptr_t>(r.offset))), RD_KAFKA_V_END);
    if (err) rd_kafka_headers_destroy(h);
    return err;
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    static_cast<forwarder*>(opaque)->delivered(m);
  }

  void delivered(const rd_kafka_message_t* m) {
    auto* t = static_cast<dest_topic*>(rd_kafka_topic_opaque(m->rkt));
    if (!t || m->partition < 0 || m->partition >= static_cast<int32_t>(t->parts.size())) return;
    source_partition& p = t->parts[static_cast<size_t>(m->partition)];
    auto offset = static_cast<int64_t>(reinterpret_cast<intptr_t>(m->_private));
    if (p.in_flight > 0) p.in_flight--;
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) return;
    if (!m->err) {
      link_.up();
      if (offset + 1 > p.confirmed) p.confirmed = offset + 1;
      // All that was sent is confirmed: offsets up to `sent` that are not
      // records (compacted away) are passed too.
      if (p.in_flight == 0 && !reset_asked_) p.confirmed = std::max(p.confirmed, p.sent);
      if (!p.last_error.empty()) {
        p.last_error.clear();
        p.dirty = true;
      }
      return;
    }
    // Refused for good (librdkafka retries what can be retried, forever;
    // with the gapless guarantee the producer then stops): start again.
    std::string why = p.name + " offset " + std::to_string(offset) + " -> " + t->dest + ": " + rd_kafka_err2str(m->err);
    if (p.last_error != why) {
      p.last_error = why;
      p.dirty = true;
    }
    if (failure_.empty()) failure_ = why;
    reset_asked_ = true;
  }

  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* f = static_cast<forwarder*>(opaque);
    auto e = static_cast<rd_kafka_resp_err_t>(err);
    if (e == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512];
      rd_kafka_fatal_error(rk, buf, sizeof buf);
      f->fatal_text_ = buf;
      f->reset_asked_ = true;
      return;
    }
    if (e == RD_KAFKA_RESP_ERR__TRANSPORT) {
      f->last_transport_ = reason;
      return;
    }
    if (is_link_error(e) || e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
      f->link_.down(f->last_transport_.empty() ? reason : f->last_transport_);
  }

  bool all_done() const {
    for (const auto& t : topics_)
      for (const auto& p : t->parts)
        if (!p.ready || p.confirmed < p.target) return false;
    return true;
  }

  // Stores what changed: confirmed positions, lost ranges, errors.
  Status commit() {
    std::vector<mirror_progress> out;
    for (auto& t : topics_)
      for (auto& p : t->parts) {
        if (!p.ready && !p.has_progress) continue;
        if (p.confirmed == p.committed && !p.dirty && link_error_committed_ == link_.last_error()) continue;
        mirror_progress pr;
        pr.topic = t->source.name;
        pr.partition = p.partition;
        pr.next = p.confirmed;
        pr.dest_floor = p.dest_floor;
        pr.lost = p.lost;
        // While the cluster is away, that is every partition's error.
        pr.last_error = p.last_error.empty() ? link_.last_error() : p.last_error;
        out.push_back(std::move(pr));
      }
    if (out.empty()) return Status::OK();
    Status st = s_.dd->catalog()->commit_mirror_progress(s_.m.name, out);
    link_error_committed_ = link_.last_error();
    if (st.is_not_found()) {
      stop_ = true;
      say("the mirror was deleted; stopping");
      return Status::OK();
    }
    KAPPA_RETURN_IF_ERROR(st);
    for (auto& t : topics_)
      for (auto& p : t->parts) {
        if (!p.ready && !p.has_progress) continue;
        p.committed = p.confirmed;
        p.has_progress = true;
        p.dirty = false;
        progress_[{t->source.name, p.partition}].next = p.confirmed;
        progress_[{t->source.name, p.partition}].dest_floor = p.dest_floor;
        progress_[{t->source.name, p.partition}].lost = p.lost;
      }
    return Status::OK();
  }

  run_setup s_;
  link_reporter link_;
  kafka_handle rk_;
  kafka_handle tail_reader_;
  std::vector<std::unique_ptr<dest_topic>> topics_;
  std::set<std::string> known_;
  std::map<std::pair<std::string, int32_t>, mirror_progress> progress_;
  std::set<std::string> said_;  // notes said once
  std::string last_transport_;
  std::string link_error_committed_;  // link_.last_error() as last committed
  bool reset_asked_ = false;
  int64_t reset_backoff_ms_ = 1000;
  std::string failure_;     // the first refused record since the last reset
  std::string fatal_text_;  // the producer's fatal error, if any
  // The rest of a batch the producer's queue had no room for.
  bool pending_ = false, queue_full_ = false;
  source_partition* pending_part_ = nullptr;
  size_t pending_index_ = 0, pending_count_ = 0;
  record_view pending_recs_[64];
};

}  // namespace

std::unique_ptr<mirror> make_forwarder(run_setup s) { return std::make_unique<forwarder>(std::move(s)); }

}  // namespace kappa::mirror_detail
