// Throughput and memory of the sessionize core (parse + session windows +
// JSON of fired sessions) on one thread: a JSONL file goes through one
// session_task line by line, then finish(), as `kappa sessionize
// --flush-at-end` replays one partition. No log, no checkpoint store.
//
//   session_core_bench FILE [--checkpoint-every N]
//
// Options are those of the gen_clicks benchmark (README.md, "Performance"):
// key user_id, time timestamp_ms, gap 30 min, max
// out-of-orderness 30 s, allowed lateness 0, --count-by event_type.
// --checkpoint-every N takes the incremental checkpoint changes every N
// lines (encoded, then thrown away), as the job runner would; 0 = never.
//
// Prints events/s over the feed loop (file reads excluded: they are timed
// apart), sessions emitted, an XXH3 digest of everything written (sessions
// and rejected lines, in order: equal digests, equal output), open
// sessions at peak, state bytes per open session at that peak (from
// session_windows::memory(), by capacity), and the process's peak RSS
// (getrusage). Lines are fed from a 4 MiB read buffer, which provides the
// 64 bytes of padding feed() requires.
#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "processor/session_task.h"

using namespace kappa;
using clk = std::chrono::steady_clock;

// CPU time of this thread: on a shared machine it moves less than wall
// time with what else runs.
static double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: session_core_bench FILE [--checkpoint-every N]\n");
    return 2;
  }
  uint64_t checkpoint_every = 0;
  for (int i = 2; i + 1 < argc; i += 2)
    if (std::strcmp(argv[i], "--checkpoint-every") == 0) checkpoint_every = std::strtoull(argv[i + 1], nullptr, 10);
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    std::perror(argv[1]);
    return 1;
  }

  session_task_options o;
  o.fields = {"user_id", "timestamp_ms", "event_type", "", ""};
  o.gap = 30 * 60 * 1000;
  o.max_out_of_orderness = 30 * 1000;
  o.allowed_lateness = 0;
  uint64_t out_bytes = 0, rejected = 0, checkpoint_bytes = 0, digest = 0;
  session_task task(
      o, [&](std::string_view key, int64_t ts, std::string_view value) {
        out_bytes += key.size() + value.size();
        digest = XXH3_64bits_withSeed(key.data(), key.size(), digest ^ static_cast<uint64_t>(ts));
        digest = XXH3_64bits_withSeed(value.data(), value.size(), digest);
      },
      [&](std::string_view line, const std::string*) {
        rejected++;
        digest = XXH3_64bits_withSeed(line.data(), line.size(), digest + 1);
      });

  // Lines are fed straight from a read buffer: 64 bytes of padding after
  // the last byte read keep simdjson's reads in bounds.
  constexpr size_t kChunk = 4 << 20, kPad = 64;
  std::string buf(kChunk + kPad, ' ');
  size_t have = 0;
  uint64_t lines = 0;
  std::vector<std::string_view> chunk_lines;
  constexpr size_t kBatch = 512;
  constexpr size_t kSlotAhead = 16, kStateAhead = 8;
  size_t peak_open = 0;
  session_windows::memory_use peak_mem{};
  // Lines go in batches of kBatch, with the job runner's pipeline of
  // cache hints (session_job.cc, step()).
  auto feed_batch = [&] {
    size_t count = chunk_lines.size();
    for (size_t j = 0; j < std::min(count, kSlotAhead); j++) task.prefetch_key(chunk_lines[j]);
    for (size_t j = 0; j < std::min(count, kStateAhead); j++) task.prefetch_state(chunk_lines[j]);
    for (size_t j = 0; j < count; j++) {
      if (j + kSlotAhead < count) task.prefetch_key(chunk_lines[j + kSlotAhead]);
      if (j + kStateAhead < count) task.prefetch_state(chunk_lines[j + kStateAhead]);
      task.feed_hinted(chunk_lines[j]);
      lines++;
      if ((lines & 1023) == 0 && task.windows().open_windows() > peak_open) {
        peak_open = task.windows().open_windows();
        peak_mem = task.windows().memory();
      }
      if (checkpoint_every && lines % checkpoint_every == 0)
        task.windows().take_changes([&](const std::string& key, const std::string* enc) {
          checkpoint_bytes += key.size() + (enc ? enc->size() : 0);
        });
    }
    chunk_lines.clear();
  };
  clk::duration read_time{}, feed_time{};
  auto t_start = clk::now();
  double cpu_start = thread_cpu_seconds();
  for (;;) {
    auto t0 = clk::now();
    ssize_t n = read(fd, buf.data() + have, kChunk - have);
    auto t1 = clk::now();
    read_time += t1 - t0;
    if (n < 0) {
      std::perror("read");
      return 1;
    }
    bool eof = n == 0;
    have += static_cast<size_t>(n);
    std::memset(buf.data() + have, ' ', kPad);
    size_t pos = 0;
    for (;;) {
      const char* nl = static_cast<const char*>(std::memchr(buf.data() + pos, '\n', have - pos));
      if (!nl) {
        if (!eof || pos == have) break;
        nl = buf.data() + have;  // a last line without a newline
      }
      size_t end = static_cast<size_t>(nl - buf.data());
      if (end > pos) chunk_lines.emplace_back(buf.data() + pos, end - pos);
      pos = std::min(end + 1, have);
      if (pos == have || chunk_lines.size() == kBatch) feed_batch();
      if (pos == have) break;
    }
    feed_batch();
    std::memmove(buf.data(), buf.data() + pos, have - pos);
    have -= pos;
    if (have == kChunk) {
      std::fprintf(stderr, "a line longer than %zu bytes\n", kChunk);
      return 1;
    }
    feed_time += clk::now() - t1;
    if (eof) break;
  }
  auto t_fin = clk::now();
  task.finish();
  clk::duration finish_time = clk::now() - t_fin;
  feed_time += finish_time;
  double total_s = std::chrono::duration<double>(clk::now() - t_start).count();
  double cpu_s = thread_cpu_seconds() - cpu_start;
  double feed_s = std::chrono::duration<double>(feed_time).count();
  double read_s = std::chrono::duration<double>(read_time).count();
  close(fd);

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto& st = task.stats();
  std::printf("lines               %llu\n", static_cast<unsigned long long>(lines));
  std::printf("events              %llu (late %llu, malformed %llu)\n", static_cast<unsigned long long>(st.events),
              static_cast<unsigned long long>(st.late), static_cast<unsigned long long>(st.malformed));
  std::printf("core events/s       %.3f M  (%.3f s feed + finish, of which finish() %.3f s)\n",
              static_cast<double>(lines) / feed_s / 1e6, feed_s,
              std::chrono::duration<double>(finish_time).count());
  std::printf("with reads events/s %.3f M  (%.3f s, of which read() %.3f s)\n",
              static_cast<double>(lines) / total_s / 1e6, total_s, read_s);
  std::printf("by CPU time         %.3f M  (%.3f s of this thread's CPU, reads included)\n",
              static_cast<double>(lines) / cpu_s / 1e6, cpu_s);
  std::printf("sessions emitted    %llu (%llu bytes of key + value)\n", static_cast<unsigned long long>(st.sessions),
              static_cast<unsigned long long>(out_bytes));
  std::printf("output digest       %016llx (XXH3 over sessions and rejected lines, in order)\n",
              static_cast<unsigned long long>(digest));
  std::printf("open sessions peak  %zu\n", peak_open);
  if (peak_open) {
    const auto& m = peak_mem;
    auto per = [&](size_t bytes) { return static_cast<double>(bytes) / static_cast<double>(peak_open); };
    std::printf("state at that peak  %zu keys; bytes: windows %zu, timers %zu, key slots %zu, counts %zu, sums %zu, "
                "key records %zu, key bytes %zu\n",
                m.keys, m.windows, m.timers, m.key_slots, m.counts, m.sums, m.key_records, m.key_bytes);
    std::printf("bytes/session       %.1f (window %.1f + timer %.1f + key slot share %.1f + counts %.1f + sums %.1f)\n",
                per(m.per_session_bytes()), per(m.windows), per(m.timers), per(m.key_slots), per(m.counts),
                per(m.sums));
    std::printf("  all in            %.1f (with key records %.1f), plus key bytes %.1f\n", per(m.total_bytes()),
                per(m.key_records), per(m.key_bytes));
  }
  if (checkpoint_every) std::printf("checkpoint bytes    %llu\n", static_cast<unsigned long long>(checkpoint_bytes));
  std::printf("peak RSS            %.1f MiB\n", static_cast<double>(ru.ru_maxrss) / 1024.0);
  return 0;
}
