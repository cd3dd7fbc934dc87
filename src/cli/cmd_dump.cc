// kappa dump FILE: a segment's batches and records, or an index's entries,
// in the shape of Kafka's kafka-dump-log tool.
#include <fcntl.h>

#include <cstdio>
#include <string>

#include "cli/cli_common.h"
#include "io/file.h"
#include "io/io_backend.h"
#include "log/segment.h"
#include "log/segment_name.h"

namespace kappa::cli {
namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// kafka-dump-log names each timestamp by its batch's timestamp type.
const char* timestamp_type(const batch_header& h) { return h.log_append_time() ? "LogAppendTime" : "CreateTime"; }

int dump(const std::string& path) {
  std::string name = base_name(path);
  std::optional<int64_t> base;
  for (const char* suf : {format::kLogSuffix, format::kIndexSuffix, format::kTimeIndexSuffix})
    if (!base) base = parse_segment_name(name, suf);
  int64_t b = base.value_or(0);
  std::printf("Dumping %s\n", path.c_str());
  if (ends_with(path, format::kIndexSuffix) || ends_with(path, format::kTimeIndexSuffix)) {
    std::string bytes;
    Status st = read_small_file(path, &bytes, 1u << 30);
    if (!st.ok()) return fail(st);
    bool consistent;
    if (ends_with(path, format::kIndexSuffix)) {
      auto idx = offset_index::decode(b, bytes, UINT32_MAX, &consistent);
      for (const auto& e : idx.entries()) std::printf("offset: %lld position: %u\n", (long long)e.offset, e.position);
    } else {
      auto idx = time_index::decode(b, bytes, INT64_MAX, &consistent);
      for (const auto& e : idx.entries())
        std::printf("timestamp: %lld offset: %lld\n", (long long)e.timestamp, (long long)e.offset);
    }
    if (!consistent) return fail(Status::Corruption(path + " is malformed after the entries shown"));
    return kExitOk;
  }
  auto fd = open_file(path, O_RDONLY);
  if (!fd.ok()) return fail(fd.status());
  std::printf("Log starting offset: %lld\n", (long long)b);
  auto io = make_io_backend();
  const size_t max_batch = readable_batch_limit(1u << 30);
  batch_records recs;
  auto stop = scan_segment(*io, fd->get(), 0, max_batch, [&](const batch_header& h, const char* p, uint64_t pos) {
    std::printf(
        "baseOffset: %lld lastOffset: %lld count: %d baseSequence: %d lastSequence: %d producerId: %lld "
        "producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %s isControl: %s position: %llu "
        "%s: %lld size: %zu magic: %d compresscodec: %s crc: %u isvalid: true\n",
        (long long)h.base_offset, (long long)h.last_offset(), h.record_count, h.base_sequence, h.base_sequence,
        (long long)h.producer_id, h.producer_epoch, h.leader_epoch,
        (h.attributes & format::kTransactionalFlag) ? "true" : "false",
        (h.attributes & format::kControlFlag) ? "true" : "false", (unsigned long long)pos, timestamp_type(h),
        (long long)h.max_timestamp, h.total_size(), h.magic, codec_name(h.attributes & format::kCompressionMask),
        h.crc);
    Status ds = recs.open(h, p, max_batch);
    if (!ds.ok()) {
      std::printf("| %s\n", ds.message().c_str());
      return true;
    }
    record_iterator it = recs.iterator(h);
    record_view r;
    while (it.next(&r) == 1) {
      std::printf("| offset: %lld %s: %lld keySize: %d valueSize: %d sequence: -1 headerKeys: [", (long long)r.offset,
                  timestamp_type(h), (long long)r.timestamp, r.key.size, r.value.size);
      record_header hd;
      for (int32_t i = 0; record_header_at(r, i, &hd); i++)
        std::printf("%s%.*s", i ? "," : "", (int)hd.key.size(), hd.key.data());
      std::printf("]");
      if (!r.key.is_null()) std::printf(" key: %.*s", r.key.size, r.key.data);
      std::printf(" payload: %.*s\n", r.value.is_null() ? 0 : r.value.size, r.value.is_null() ? "" : r.value.data);
    }
    return true;
  });
  if (!stop.ok()) return fail(stop.status());
  if (stop->state == batch_state::corrupt) {
    return fail(
        Status::Corruption(path + ": damaged batch at position " + std::to_string(stop->position) + ": " + stop->why));
  }
  if (stop->state == batch_state::incomplete)
    std::printf("Found %s incomplete batch at position %llu (a torn tail)\n", "an", (unsigned long long)stop->position);
  return kExitOk;
}

}  // namespace

void add_dump(CLI::App& app, context& ctx) {
  static std::string file;
  auto* cmd = app.add_subcommand("dump", "print a segment's batches and records (or an index's entries)");
  cmd->add_option("file", file, "a .log, .index or .timeindex file")->required();
  cmd->callback([&] { ctx.run = [&] { return dump(file); }; });
}

}  // namespace kappa::cli
