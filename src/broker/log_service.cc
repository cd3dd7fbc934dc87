#include "broker/log_service.h"

#include <algorithm>

#include "kappa/log/format.h"
#include "kappa/topic_config.h"
#include "log/topic_name.h"
#include "util/big_endian.h"
#include "util/clock.h"

namespace kappa::broker {

namespace {
int32_t last_offset_delta(const char* batch) {
  return static_cast<int32_t>(be::load32(batch + format::kLastOffsetDeltaOffset));
}

// The idempotence fields of a batch's header. REQUIRES: a whole header.
producer_batch producer_of(const char* batch) {
  producer_batch pb;
  pb.producer_id = static_cast<int64_t>(be::load64(batch + format::kProducerIdOffset));
  pb.epoch = static_cast<int16_t>(be::load16(batch + format::kProducerEpochOffset));
  pb.first_seq = static_cast<int32_t>(be::load32(batch + format::kBaseSequenceOffset));
  int64_t last = int64_t{pb.first_seq} + last_offset_delta(batch);
  pb.last_seq = static_cast<int32_t>(last > INT32_MAX ? last - INT32_MAX - 1 : last);  // Kafka's wrap
  return pb;
}

int16_t error_of(const Status& st) {
  if (st.is_busy()) return kPartitionBusy;
  if (st.is_corruption()) return kCorruptMessage;
  if (st.is_invalid()) return kMessageTooLarge;
  return kKafkaStorageError;
}
}  // namespace

log_service::log_service(data_dir& dd, bool auto_create) : dd_(dd), auto_create_(auto_create) {}
log_service::~log_service() { (void)sync(); }

log_service::topic_state* log_service::find(std::string_view topic, bool create, int16_t* err) {
  *err = kNone;
  if (!validate_topic_name(topic).ok()) {
    *err = kInvalidTopic;
    return nullptr;
  }
  auto t = dd_.topic(std::string(topic));
  if (!t.ok() && t.status().is_not_found() && create && auto_create_) {
    topic_meta m;
    m.name = std::string(topic);
    auto n = dd_.setting("num.partitions");
    if (n.ok() && !n.value().empty()) m.partitions = static_cast<int32_t>(std::stol(n.value()));
    Status st = dd_.create_topic(m);
    if (!st.ok() && !st.is_exists()) {
      *err = kKafkaStorageError;
      return nullptr;
    }
    t = dd_.topic(std::string(topic));
  }
  if (!t.ok()) {
    topics_.erase(std::string(topic));  // deleted by someone else
    *err = t.status().is_not_found() ? kUnknownTopicOrPartition : kKafkaStorageError;
    return nullptr;
  }
  auto it = topics_.find(topic);
  if (it == topics_.end() || it->second.meta.created_ms != t->created_ms ||
      it->second.meta.partitions != t->partitions) {
    // New here, or deleted and created again by another process.
    topic_state s;
    s.meta = t.value();
    s.parts.resize(static_cast<size_t>(t->partitions));
    it = topics_.insert_or_assign(std::string(topic), std::move(s)).first;
  } else {
    it->second.meta.config = t->config;
  }
  return &it->second;
}

log_service::partition_state* log_service::part(std::string_view topic, int32_t partition, bool create, int16_t* err) {
  topic_state* t = find(topic, create, err);
  if (!t) return nullptr;
  if (partition < 0 || partition >= t->meta.partitions) {
    *err = kUnknownTopicOrPartition;
    return nullptr;
  }
  return &t->parts[static_cast<size_t>(partition)];
}

int32_t log_service::partitions_of(std::string_view topic, bool create, int16_t* err) {
  topic_state* t = find(topic, create, err);
  return t ? t->meta.partitions : -1;
}

std::vector<std::pair<std::string, int32_t>> log_service::all_topics() {
  std::vector<std::pair<std::string, int32_t>> out;
  if (!dd_.catalog()) return out;
  auto ts = dd_.catalog()->list_topics();
  if (!ts.ok()) return out;
  for (const auto& t : ts.value()) out.emplace_back(t.name, t.partitions);
  return out;
}

int16_t log_service::create_topic(std::string_view name, int32_t partitions, int16_t replication,
                                  const std::vector<std::pair<std::string, std::string>>& configs, bool validate_only,
                                  std::string* message) {
  Status st = validate_topic_name(name);
  if (!st.ok()) {
    *message = st.message();
    return kInvalidTopic;
  }
  if (partitions == 0 || partitions < -1) {
    *message = "the number of partitions must be positive, or -1 for the default";
    return kInvalidPartitions;
  }
  if (replication != -1 && replication != 1) {
    *message = "this is a single broker: the replication factor must be 1 or -1";
    return kInvalidReplicationFactor;
  }
  topic_meta m;
  m.name = std::string(name);
  if (partitions > 0) {
    m.partitions = partitions;
  } else if (auto n = dd_.setting("num.partitions"); n.ok() && !n.value().empty()) {
    m.partitions = static_cast<int32_t>(std::stol(n.value()));
  }
  for (const auto& [k, v] : configs) {
    if (Status c = validate_topic_config(k, v); !c.ok()) {
      *message = c.message();
      return kInvalidConfig;
    }
    m.config.set(k, v);
  }
  if (dd_.topic(m.name).ok()) {
    *message = "topic '" + m.name + "' already exists";
    return kTopicAlreadyExists;
  }
  if (validate_only) return kNone;
  st = dd_.ensure_created();
  if (st.ok()) st = dd_.create_topic(m);
  if (st.is_exists()) {
    *message = st.message();
    return kTopicAlreadyExists;
  }
  if (!st.ok()) {
    *message = st.message();
    return kKafkaStorageError;
  }
  return kNone;
}

int16_t log_service::delete_topic(std::string_view name) {
  int16_t err;
  if (!find(name, false, &err)) return err;
  topics_.erase(std::string(name));  // our appenders and readers go first
  Status st = dd_.delete_topic(std::string(name));
  if (st.is_not_found()) return kUnknownTopicOrPartition;
  return st.ok() ? kNone : kKafkaStorageError;
}

bool log_service::topic_configs(std::string_view name, std::vector<std::pair<std::string, std::string>>* out) {
  auto t = dd_.topic(std::string(name));
  if (!t.ok()) return false;
  for (const auto& [k, v] : t->config.effective()) out->emplace_back(k, v);
  return true;
}

int16_t log_service::append(std::string_view topic, int32_t partition, std::string_view batch, int64_t* base_offset,
                            int64_t* append_time, std::string* message) {
  int16_t err;
  *append_time = -1;
  partition_state* p = part(topic, partition, true, &err);
  if (!p) return err;
  topic_state& t = topics_.find(topic)->second;
  if (!p->appender) {
    auto a = dd_.open_appender(t.meta, partition, 0, codec::none, true);
    if (!a.ok()) {
      *message = a.status().message();
      return a.status().is_busy() ? kPartitionBusy : kKafkaStorageError;
    }
    p->appender = std::move(a.value());
  }
  // The config as of now (find() reread it): a `topic alter` applies to
  // the next batch, as on a Kafka broker.
  p->appender->set_log_append_time(t.meta.config.log_append_time());
  producer_batch pb;  // producer_id -1 (not checked) for a record set too short to be a batch
  producer_state* producers = nullptr;
  if (batch.size() >= format::kBatchHeaderSize) pb = producer_of(batch.data());
  if (pb.producer_id >= 0) {
    if (pb.first_seq < 0) {
      *message = "an idempotent producer's batch has no sequence number";
      return kInvalidRecord;
    }
    producers = producers_of(t, partition, *p);
    int64_t first = -1;
    int16_t refused = kNone;
    switch (producers->check(pb, &first, &refused)) {
      case producer_state::verdict::duplicate:
        *base_offset = first;  // a retry: acknowledged as the first time
        return kNone;
      case producer_state::verdict::refuse:
        *message = "producer " + std::to_string(pb.producer_id) + " epoch " + std::to_string(pb.epoch) + ": sequence " +
                   std::to_string(pb.first_seq) + " refused";
        return refused;
      case producer_state::verdict::append: break;
    }
  }
  Status st = p->appender->append_batch(batch, base_offset, append_time);
  if (!st.ok()) {
    *message = st.message();
    int16_t e = error_of(st);
    if (e == kKafkaStorageError) p->appender.reset();  // failed for good: reopen (and recover) next time
    return e;
  }
  p->dirty = true;
  p->last_write_ms = steady_clock_ms();
  if (producers) producers->appended(pb, *base_offset, *base_offset + last_offset_delta(batch.data()));
  return kNone;
}

producer_state* log_service::producers_of(topic_state& t, int32_t partition, partition_state& p) {
  if (p.producers) return p.producers.get();
  p.producers = std::make_unique<producer_state>();
  // What the partition already holds (written before a restart): its newest
  // batches are enough, since only a producer's last five count, and a
  // producer not found is accepted at any sequence, as Kafka does.
  constexpr int64_t kRebuildOffsets = 1'000'000;
  if (p.appender) (void)p.appender->flush();
  auto r = dd_.open_reader(t.meta, partition);
  if (!r.ok()) return p.producers.get();
  auto end = r.value()->log_end_offset();
  if (!end.ok() || !r.value()->seek(std::max<int64_t>(0, end.value() - kRebuildOffsets)).ok()) return p.producers.get();
  std::string_view b;
  for (;;) {
    auto st = r.value()->next_batch(&b);
    if (!st.ok() || st.value() != partition_reader::status::record) break;
    producer_batch pb = producer_of(b.data());
    if (pb.producer_id < 0) continue;
    int64_t base = static_cast<int64_t>(be::load64(b.data() + format::kBaseOffsetOffset));
    p.producers->appended(pb, base, base + last_offset_delta(b.data()));
  }
  return p.producers.get();
}

std::vector<std::string> log_service::sync() {
  std::vector<partition_appender*> dirty;
  std::vector<std::string> names;
  for (auto& [name, t] : topics_)
    for (size_t i = 0; i < t.parts.size(); i++)
      if (t.parts[i].dirty && t.parts[i].appender) {
        dirty.push_back(t.parts[i].appender.get());
        names.push_back(name + "/" + std::to_string(i));
      }
  std::vector<std::string> failed;
  if (!dirty.empty() && !partition_appender::sync_all(dirty).ok()) {
    // Which ones: each failed appender says so from now on.
    for (size_t i = 0; i < dirty.size(); i++)
      if (!dirty[i]->flush().ok()) failed.push_back(names[i]);
  }
  // The round is over: other writers may have the partitions until the
  // next one (an appender that failed is dropped and reopened then).
  for (auto& entry : topics_)
    for (auto& p : entry.second.parts) {
      p.dirty = false;
      if (p.appender && p.appender->holds_lock() && !p.appender->release_lock().ok()) p.appender.reset();
    }
  return failed;
}

void log_service::release_idle(int64_t now_ms, int64_t idle_ms) {
  for (auto& [name, t] : topics_)
    for (auto& p : t.parts)
      if (p.appender && !p.dirty && now_ms - p.last_write_ms >= idle_ms) p.appender.reset();
}

log_service::fetched log_service::fetch(std::string_view topic, int32_t partition, int64_t offset, size_t max_bytes,
                                        bool first_in_response) {
  fetched f;
  partition_state* p = part(topic, partition, false, &f.error);
  if (!p) return f;
  if (!reader_of(topic, partition, *p)) {
    f.error = kKafkaStorageError;
    return f;
  }
  partition_reader& r = *p->reader;
  auto end = r.log_end_offset();
  if (!end.ok()) {
    f.error = kKafkaStorageError;
    return f;
  }
  f.high_watermark = end.value();
  // An offset below the cached start is checked against the current one.
  f.log_start_offset = cached_log_start(*p, offset);
  if (offset < f.log_start_offset || offset > f.high_watermark) {
    f.error = kOffsetOutOfRange;
    return f;
  }
  if (offset == f.high_watermark) return f;
  if (r.position() != offset && !r.seek(offset).ok()) {
    f.error = kKafkaStorageError;
    return f;
  }
  for (;;) {
    batch_range br;
    uint64_t room = max_bytes > f.bytes ? max_bytes - f.bytes : 0;
    // A batch that does not fit stays in the reader for the next fetch.
    auto st = r.next_batch_range(&br, room, f.ranges.empty() && first_in_response);
    if (!st.ok() || st.value() != partition_reader::status::record) {
      if (st.ok() && st.value() == partition_reader::status::corrupt && f.ranges.empty()) f.error = kCorruptMessage;
      break;
    }
    // Records missing before the first batch: retention may have passed
    // the offset since the cached start was read (compaction also leaves
    // such gaps). Kafka answers an offset below the log start with
    // OFFSET_OUT_OF_RANGE, so a consumer learns what it missed.
    if (f.ranges.empty() && br.base_offset > offset) {
      p->log_start_read_ms = INT64_MIN / 2;
      f.log_start_offset = cached_log_start(*p, offset);
      if (offset < f.log_start_offset) {
        f.error = kOffsetOutOfRange;
        return f;
      }
    }
    f.bytes += br.length;
    f.ranges.push_back(std::move(br));
    if (f.bytes >= max_bytes) break;
  }
  return f;
}

int64_t log_service::log_start_offset(std::string_view topic, int32_t partition) {
  int16_t err;
  partition_state* p = part(topic, partition, false, &err);
  if (!p || !reader_of(topic, partition, *p)) return -1;
  return cached_log_start(*p, INT64_MAX);
}

partition_reader* log_service::reader_of(std::string_view topic, int32_t partition, partition_state& p) {
  if (!p.reader) {  // kept: the fetches of a partition usually follow each other
    auto r = dd_.open_reader(topics_.find(topic)->second.meta, partition);
    if (!r.ok()) return nullptr;
    p.reader = std::move(r.value());
  }
  return p.reader.get();
}

// The log start moves only when retention removes a segment: a second-old
// value is good enough, and spares a directory listing per partition per
// request. One above `offset` is read again (retention may have passed
// the offset, or the cache be older than a segment's removal).
int64_t log_service::cached_log_start(partition_state& p, int64_t offset) {
  int64_t now = steady_clock_ms();
  if (p.log_start < 0 || p.log_start > offset || now - p.log_start_read_ms >= 1000) {
    p.log_start = p.reader->log_start_offset();
    p.log_start_read_ms = now;
  }
  return p.log_start;
}

int16_t log_service::list_offset(std::string_view topic, int32_t partition, int64_t ts, int64_t* offset,
                                 int64_t* found_ts) {
  int16_t err;
  partition_state* p = part(topic, partition, false, &err);
  if (!p) return err;
  topic_state& t = topics_.find(topic)->second;
  auto r = dd_.open_reader(t.meta, partition);
  if (!r.ok()) return kKafkaStorageError;
  *found_ts = -1;
  if (ts == -2) {
    *offset = r.value()->log_start_offset();
    return kNone;
  }
  auto end = r.value()->log_end_offset();
  if (!end.ok()) return kKafkaStorageError;
  if (ts == -1) {
    *offset = end.value();
    return kNone;
  }
  if (!r.value()->seek_to_timestamp(ts).ok()) return kKafkaStorageError;
  record_view rec;
  auto st = r.value()->next(&rec);
  if (st.ok() && st.value() == partition_reader::status::record) {
    *offset = rec.offset;
    *found_ts = rec.timestamp;
  } else {
    *offset = -1;
  }
  return kNone;
}

std::vector<std::string> log_service::partition_dirs() {
  std::vector<std::string> out;
  for (const auto& [name, n] : all_topics())
    for (int32_t p = 0; p < n; p++) out.push_back(dd_.partition_dir(name, p));
  return out;
}

}  // namespace kappa::broker
