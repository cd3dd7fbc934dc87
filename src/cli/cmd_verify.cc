// kappa verify [TOPIC]: every batch's CRC and offsets, and both indexes of
// every segment, checked without changing anything.
#include <fcntl.h>

#include <cstdio>
#include <map>

#include "cli/cli_common.h"
#include "io/file.h"
#include "io/io_backend.h"
#include "kappa/catalog.h"
#include "log/segment.h"
#include "log/segment_name.h"
#include "log/topic_name.h"

namespace kappa::cli {
namespace {

struct verifier {
  io_backend& io;
  size_t max_batch;
  batch_records recs;  // decompressed records of the batch being checked
  int problems = 0;

  void problem(const std::string& what) {
    problems++;
    std::printf("BAD  %s\n", what.c_str());
  }

  // Returns the segment's end offset (next expected).
  int64_t segment(const std::string& dir, const std::string& pname, int64_t base, int64_t next_base, bool last,
                  uint64_t* batches, uint64_t* records) {
    std::string log = segment_path(dir, base, format::kLogSuffix);
    auto fd = open_file(log, O_RDONLY);
    if (!fd.ok()) {
      problem(pname + ": " + fd.status().message());
      return base;
    }
    std::map<uint64_t, std::pair<int64_t, int64_t>> starts;  // position -> [base, last]
    int64_t next = base;
    auto stop = scan_segment(io, fd->get(), 0, max_batch, [&](const batch_header& h, const char* b, uint64_t pos) {
      // A compressed batch's CRC covers the compressed bytes: its records
      // must also decompress and decode.
      if (h.attributes & format::kCompressionMask) {
        Status st = recs.open(h, b, max_batch);
        record_iterator it = recs.iterator(h);
        record_view r;
        int32_t n = 0;
        int rc = 0;
        while (st.ok() && (rc = it.next(&r)) == 1) n++;
        if (!st.ok() || rc < 0 || n != h.record_count)
          problem(pname + ": segment " + log + ": batch at position " + std::to_string(pos) + " (offsets " +
                  std::to_string(h.base_offset) + ".." + std::to_string(h.last_offset()) + "): " +
                  (!st.ok() ? st.message()
                   : rc < 0 ? std::string("malformed record: ") + it.error()
                            : std::to_string(n) + " records where the header says " + std::to_string(h.record_count)));
      }
      if (h.base_offset < next) {
        problem(pname + ": segment " + log + ": batch at position " + std::to_string(pos) + " has base offset " +
                std::to_string(h.base_offset) + ", below the previous batch's end " + std::to_string(next));
      }
      starts[pos] = {h.base_offset, h.last_offset()};
      next = h.last_offset() + 1;
      (*batches)++;
      *records += static_cast<uint64_t>(h.record_count);
      return true;
    });
    if (!stop.ok()) {
      problem(pname + ": " + stop.status().message());
      return next;
    }
    auto size = file_size(fd->get(), log);
    if (stop->state == batch_state::corrupt) {
      problem(pname + ": segment " + log + ": offset " + std::to_string(next) + " at position " +
              std::to_string(stop->position) + ": " + stop->why);
    } else if (stop->state == batch_state::incomplete) {
      std::string msg = pname + ": segment " + log + ": incomplete batch at position " +
                        std::to_string(stop->position) + " (offset " + std::to_string(next) + ")";
      if (last)
        std::printf("NOTE %s: a torn tail, cut when the partition is next opened\n", msg.c_str());
      else
        problem(msg);
    }
    if (next_base >= 0 && next > next_base)
      problem(pname + ": segment " + log + " holds offsets up to " + std::to_string(next - 1) +
              ", overlapping the next segment at " + std::to_string(next_base));
    // Offset index: each entry must name a batch start holding its offset.
    std::string ib, tb;
    Status si = read_small_file(segment_path(dir, base, format::kIndexSuffix), &ib, 64u << 20);
    if (!si.ok()) {
      problem(pname + ": " + si.message());
    } else {
      bool consistent;
      auto idx = offset_index::decode(base, ib, size.ok() ? size.value() : UINT32_MAX, &consistent);
      if (!consistent)
        problem(pname + ": index " + segment_path(dir, base, format::kIndexSuffix) + " is malformed after " +
                std::to_string(idx.entries().size()) + " entries");
      for (const auto& e : idx.entries()) {
        auto it = starts.find(e.position);
        if (it == starts.end() || e.offset < it->second.first || e.offset > it->second.second) {
          problem(pname + ": index " + segment_path(dir, base, format::kIndexSuffix) + ": entry for offset " +
                  std::to_string(e.offset) + " points at position " + std::to_string(e.position) +
                  ", which is not the start of the batch holding it");
          break;
        }
      }
    }
    Status st = read_small_file(segment_path(dir, base, format::kTimeIndexSuffix), &tb, 64u << 20);
    if (!st.ok()) {
      problem(pname + ": " + st.message());
    } else {
      bool consistent;
      auto times = time_index::decode(base, tb, next, &consistent);
      if (!consistent)
        problem(pname + ": time index " + segment_path(dir, base, format::kTimeIndexSuffix) +
                " is malformed or points past the segment after " + std::to_string(times.entries().size()) +
                " entries");
    }
    return next;
  }
};

int verify(context& ctx, const std::string& only) {
  if (!only.empty()) {
    Status st = validate_topic_name(only);
    if (!st.ok()) return fail(st);
  }
  int rc = 0;
  auto dd = ctx.open(false, &rc);
  if (!dd) return rc;
  std::vector<topic_meta> topics;
  if (!only.empty()) {
    auto t = dd->topic(only);
    if (!t.ok()) return fail(t.status());
    topics.push_back(t.value());
  } else if (dd->catalog()) {
    auto ts = dd->catalog()->list_topics();
    if (!ts.ok()) return fail(ts.status());
    topics = ts.value();
  }
  auto io = make_io_backend();
  verifier v{*io, 0, {}};
  for (const auto& t : topics) {
    v.max_batch = readable_batch_limit(t.config.partition().max_message_bytes);
    for (int32_t p = 0; p < t.partitions; p++) {
      std::string dir = dd->partition_dir(t.name, p), pname = partition_name(t.name, p);
      if (!path_exists(dir)) continue;
      auto bases = list_segments(dir);
      if (!bases.ok()) {
        v.problem(pname + ": " + bases.status().message());
        continue;
      }
      int before = v.problems;
      uint64_t batches = 0, records = 0;
      const auto& b = bases.value();
      for (size_t i = 0; i < b.size(); i++)
        v.segment(dir, pname, b[i], i + 1 < b.size() ? b[i + 1] : -1, i + 1 == b.size(), &batches, &records);
      if (v.problems == before)
        std::printf("OK   %s: %zu segment(s), %llu batches, %llu records\n", pname.c_str(), b.size(),
                    (unsigned long long)batches, (unsigned long long)records);
    }
  }
  if (v.problems) {
    std::fprintf(stderr,
                 "kappa: verify found %d problem(s); damaged data is never returned by consume "
                 "(consume --skip-corrupt steps over it)\n",
                 v.problems);
    return kExitRuntime;
  }
  return kExitOk;
}

}  // namespace

void add_verify(CLI::App& app, context& ctx) {
  static std::string topic;
  auto* cmd = app.add_subcommand("verify", "check every batch's CRC and offsets and the indexes; exit 1 on damage");
  cmd->add_option("topic", topic, "only this topic (default: all)");
  cmd->callback([&] { ctx.run = [&] { return verify(ctx, topic); }; });
}

}  // namespace kappa::cli
