#include "broker/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <variant>

#include "broker/fetch_session.h"
#include "broker/group_coordinator.h"
#include "broker/job_host.h"
#include "broker/log_service.h"
#include "broker/metrics.h"
#include "broker/metrics_http.h"
#include "broker/zstd_rule.h"
#include "kappa/catalog.h"
#include "log/partition_lock.h"
#include "log/segment.h"
#include "util/clock.h"
#include "wire/codec.h"

namespace kappa::broker {

namespace {

constexpr size_t kReadChunk = 256u << 10;
constexpr size_t kMaxUnsent = 16u << 20;  // stop reading a connection past this many unsent bytes
// A fetched file range shorter than this is copied into the response rather
// than sent with sendfile(2): for a few KiB a pread is cheaper than the
// extra send and sendfile calls.
constexpr uint64_t kSendfileMin = 16u << 10;
constexpr size_t kMaxQueued = 128;        // or past this many unanswered requests
constexpr int64_t kIdleWriterMs = 500;    // close an appender idle this long (frees its buffers)
constexpr int64_t kRewatchMs = 2000;      // look for new partition directories this often
constexpr int kParkedRetryMs = 20;        // a parked produce also retries this often (the watch may miss)
constexpr int16_t kRequestTimedOut = 7;
constexpr int32_t kNodeId = 0;

// A parsed HOST:PORT.
struct host_port {
  std::string host;
  int port = 0;
};
Result<host_port> parse_host_port(const std::string& s, const char* what) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 == s.size())
    return Status::Invalid(std::string(what) + " '" + s + "' is not HOST:PORT");
  host_port hp;
  hp.host = s.substr(0, colon);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']')
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  char* end = nullptr;
  long port = std::strtol(s.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535)
    return Status::Invalid(std::string(what) + " '" + s + "' has a bad port");
  hp.port = static_cast<int>(port);
  return hp;
}

// What a waiting fetch needs again when it is retried (the request's own
// strings live in its frame, which is gone by then).
struct fetch_wait {
  int16_t version = 0;
  int32_t min_bytes = 0, max_bytes = 0;
  int64_t deadline_ms = 0;
  struct part {
    std::string topic;
    int32_t partition;
    int64_t offset;
    int32_t max_bytes;
  };
  std::vector<part> parts;
};

struct produce_result {
  std::string topic;
  int32_t partition;
  int16_t error;
  int64_t base_offset;
  int64_t log_append_time = -1;  // LogAppendTime topics: the time the batch was stamped with
};

// One request's place in its connection's answer order.
struct slot {
  int32_t correlation_id = 0;
  int16_t api_key = -1;     // for the metrics: which API, and
  int64_t received_us = 0;  // when it was decoded (metrics::now_us)
  bool ready = false;
  std::string bytes;  // the whole response frame, once ready
  // A fetch response's records: the holes in `bytes` (wire/schema.h) and,
  // by hole token, the file ranges that fill them.
  std::vector<wire::hole> holes;
  std::vector<std::vector<batch_range>> files;
  // A produce answered after the round's fsync; pending counts its
  // partitions still waiting for another process's writer lock (parked).
  bool after_sync = false;
  int pending = 0;
  int16_t version = 0;
  std::vector<produce_result> produced;
  // A fetch waiting for data or its deadline.
  std::unique_ptr<fetch_wait> fetch;
};

// A piece of a connection's output: bytes, or (file set) a range of a
// segment file, sent with sendfile(2).
struct out_chunk {
  std::string bytes;
  std::shared_ptr<const segment_file> file;
  uint64_t position = 0, length = 0;
  uint64_t size() const { return file ? length : bytes.size(); }
};

struct connection {
  int fd = -1;
  uint64_t id = 0;
  std::string peer;
  wire::frame_reassembler frames;
  std::deque<slot> queue;
  std::deque<out_chunk> out;
  uint64_t out_off = 0;  // sent of out.front()
  uint64_t unsent = 0;   // bytes in out not sent yet, both kinds
  bool reading = true;   // EPOLLIN armed
  bool writing = false;  // EPOLLOUT armed
  bool closing = false;
};

class server {
 public:
  server(data_dir& dd, const server_options& o) : dd_(dd), o_(o), log_(dd, o.auto_create) {}
  ~server() {
    for (auto& [fd, c] : conns_) ::close(fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  Status start() {
    KAPPA_ASSIGN_OR_RETURN(host_port l, parse_host_port(o_.listen, "--listen"));
    // One server per data dir, as a Kafka broker locks its log dirs.
    KAPPA_RETURN_IF_ERROR(dd_.ensure_created());
    std::string lock_path = dd_.path() + "/" + data_dir::kServeLockFile;
    KAPPA_ASSIGN_OR_RETURN(serve_lock_, partition_lock::lock_file(lock_path, false));
    if (!serve_lock_.held())
      return Status::Busy("data dir " + dd_.path() + " is already served by " + dd_.served_by() +
                          " (lock file " + lock_path + "); stop that server or use another data dir");
    host_port a = l;
    if (!o_.advertise.empty()) {
      KAPPA_ASSIGN_OR_RETURN(a, parse_host_port(o_.advertise, "--advertise"));
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    std::string port = std::to_string(l.port);
    int rc = ::getaddrinfo(l.host.empty() ? nullptr : l.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) return Status::Invalid("--listen " + o_.listen + ": " + gai_strerror(rc));
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
      int err = errno;
      ::freeaddrinfo(res);
      if (fd >= 0) ::close(fd);
      return Status::FromErrno("listen on " + o_.listen, err);
    }
    ::freeaddrinfo(res);
    listen_fd_ = fd;
    if (l.port == 0 || a.port == 0) {  // an ephemeral port: advertise the one we got
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      int got = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
      if (a.port == 0) a.port = got;
      l.port = got;
    }
    if (a.host.empty() || a.host == "0.0.0.0" || a.host == "::") a.host = "127.0.0.1";
    advertised_ = a;
    KAPPA_RETURN_IF_ERROR(publish_server(lock_path, l.host + ":" + std::to_string(l.port)));
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (epoll_fd_ < 0) return Status::FromErrno("epoll", errno);
    add_to_epoll(listen_fd_, EPOLLIN);
    if (inotify_fd_ >= 0) add_to_epoll(inotify_fd_, EPOLLIN);
    rewatch();
    if (!o_.metrics.empty()) KAPPA_RETURN_IF_ERROR(metrics_http_.start(o_.metrics, epoll_fd_));
    std::fprintf(stderr, "kappa: serving %s on %s (clients are told %s:%d)\n", dd_.path().c_str(), o_.listen.c_str(),
                 advertised_.host.c_str(), advertised_.port);
    if (metrics_http_.started())
      std::fprintf(stderr, "kappa: metrics at http://%s/metrics\n", metrics_http_.address().c_str());
    return Status::OK();
  }

  void run(const volatile std::sig_atomic_t* stop) {
    epoll_event events[256];
    while (!*stop) {
      int64_t now = steady_clock_ms();
      int timeout = 1000;
      for (const auto& w : waiting_) timeout = static_cast<int>(std::clamp<int64_t>(w.deadline - now, 0, timeout));
      timeout = static_cast<int>(std::clamp<int64_t>(groups_.next_tick_ms() - now, 0, timeout));
      if (!parked_.empty()) timeout = std::min<int>(timeout, kParkedRetryMs);
      int n = ::epoll_wait(epoll_fd_, events, 256, timeout);
      if (n < 0 && errno != EINTR) break;
      bool appended = false;
      for (int i = 0; i < n; i++) {
        int fd = events[i].data.fd;
        if (fd == listen_fd_) {
          accept_all();
        } else if (fd == inotify_fd_) {
          char drain[4096];
          while (::read(inotify_fd_, drain, sizeof drain) > 0) {
          }
          appended = true;
        } else if (auto it = conns_.find(fd); it != conns_.end()) {
          connection& c = *it->second;
          if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_from(c);
          if (!c.closing && (events[i].events & EPOLLOUT)) write_to(c);
        } else {
          metrics_http_.on_event(fd, events[i].events, [this] { return metrics_page(); });
        }
      }
      metrics_http_.tick(steady_clock_ms());
      round_end(appended || produced_this_round_);
    }
    // Stopping: no new requests; what was read is answered, then synced.
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
      listen_fd_ = -1;
    }
    for (auto& w : waiting_) w.deadline = 0;
    round_end(true, true);
    (void)log_.sync();
  }

 private:
  struct waiting_fetch {
    uint64_t conn;
    slot* s;
    int64_t deadline;
  };
  // A produce's batch for a partition another process is writing: kept
  // (in arrival order per partition) until that writer lets go, which the
  // partition watch reports, or until the request's timeout.
  struct parked_batch {
    uint64_t conn;
    slot* s;  // null for acks=0, or once its connection closed
    size_t result;
    std::string topic;
    int32_t partition;
    std::string batch;
    int64_t deadline;
  };

  // Who serves (for data_dir::served_by), and no members yet: a list left
  // by a server killed before is stale.
  Status publish_server(const std::string& lock_path, const std::string& listen) {
    std::string who = "pid " + std::to_string(::getpid()) + ", listening on " + listen + "\n";
    KAPPA_RETURN_IF_ERROR(rewrite_file(lock_path, who, false));
    KAPPA_RETURN_IF_ERROR(dd_.catalog()->clear_live_members());
    groups_.set_membership_observer([this](std::string_view group, const std::vector<live_member>& members) {
      std::vector<live_group_member> out;
      for (const auto& m : members) out.push_back({m.member_id, m.client_id, m.client_host});
      Status st = dd_.catalog()->set_live_members(std::string(group), out);
      if (!st.ok())
        std::fprintf(stderr, "kappa: cannot publish the members of group %.*s for the CLI: %s\n",
                     static_cast<int>(group.size()), group.data(), st.message().c_str());
    });
    return Status::OK();
  }

  void add_to_epoll(int fd, uint32_t ev) {
    epoll_event e{};
    e.events = ev;
    e.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e);
  }
  void arm(connection& c) {
    bool want_read = !c.closing && c.queue.size() < kMaxQueued && c.unsent < kMaxUnsent;
    bool want_write = !c.out.empty();
    if (want_read == c.reading && want_write == c.writing) return;
    c.reading = want_read;
    c.writing = want_write;
    epoll_event e{};
    e.events = (want_read ? EPOLLIN : 0u) | (want_write ? EPOLLOUT : 0u);
    e.data.fd = c.fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &e);
  }

  void rewatch() {
    last_rewatch_ = steady_clock_ms();
    if (inotify_fd_ < 0) return;
    for (const auto& d : log_.partition_dirs())
      if (watched_.insert(d).second)
        ::inotify_add_watch(inotify_fd_, d.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
  }

  void accept_all() {
    for (;;) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      char host[INET6_ADDRSTRLEN] = "?";
      int port = 0;
      if (ss.ss_family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
      } else if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
      }
      std::string peer = std::string(host) + ":" + std::to_string(port);
      if (static_cast<int>(conns_.size()) >= o_.max_connections) {
        std::fprintf(stderr, "kappa: refused a connection from %s: %d connections are open (--max-connections)\n",
                     peer.c_str(), o_.max_connections);
        ::close(fd);
        metrics_.connection_refused();
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<connection>();
      c->fd = fd;
      c->id = ++next_conn_id_;
      c->peer = peer;
      add_to_epoll(fd, EPOLLIN);
      conns_[fd] = std::move(c);
      metrics_.connection_accepted();
    }
  }

  void close_conn(connection& c, const std::string& why) {
    if (!why.empty()) std::fprintf(stderr, "kappa: closed the connection from %s: %s\n", c.peer.c_str(), why.c_str());
    c.closing = true;
    groups_.cancel(c.id);
    std::erase_if(waiting_, [&](const waiting_fetch& w) { return w.conn == c.id; });
    std::erase_if(sync_waiters_, [&](const std::pair<uint64_t, slot*>& w) { return w.first == c.id; });
    for (auto& p : parked_)
      if (p.conn == c.id) p.s = nullptr;  // still appended: the request was received
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    dead_.push_back(c.fd);
  }

  void read_from(connection& c) {
    char buf[kReadChunk];
    while (!c.closing && c.reading) {
      ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
      if (got == 0) {
        close_conn(c, "");
        return;
      }
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) close_conn(c, std::strerror(errno));
        return;
      }
      Status st = c.frames.feed(std::string_view(buf, static_cast<size_t>(got)));
      if (!st.ok()) {
        close_conn(c, st.message());
        return;
      }
      while (auto frame = c.frames.next()) {
        handle(c, *frame);
        if (c.closing) return;
      }
      arm(c);
      if (static_cast<size_t>(got) < sizeof buf) return;
    }
  }

  void write_to(connection& c) {
    while (!c.out.empty()) {
      out_chunk& k = c.out.front();
      ssize_t n;
      if (k.file) {
        off_t pos = static_cast<off_t>(k.position + c.out_off);
        size_t want = static_cast<size_t>(std::min<uint64_t>(k.length - c.out_off, 1u << 30));
        n = ::sendfile(c.fd, k.file->fd(), &pos, want);
        if (n == 0) {
          // The file is shorter than when its batches were read (a torn
          // tail cut by recovery): the frame's size promised bytes that are
          // gone, so this response cannot be finished. The client retries.
          close_conn(c, "segment " + k.file->path() + " ended at byte " + std::to_string(pos) +
                            " while sending a fetch response from it (cut short since it was read)");
          return;
        }
      } else {
        // More to follow: let the kernel fill whole packets despite TCP_NODELAY.
        int more = c.out.size() > 1 ? MSG_MORE : 0;
        n = ::send(c.fd, k.bytes.data() + c.out_off, k.bytes.size() - c.out_off, MSG_NOSIGNAL | more);
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) close_conn(c, std::strerror(errno));
        break;
      }
      c.out_off += static_cast<uint64_t>(n);
      c.unsent -= static_cast<uint64_t>(n);
      if (c.out_off == k.size()) {
        c.out.pop_front();
        c.out_off = 0;
      }
    }
    if (!c.closing) arm(c);
  }

  // Appends bytes to the output, to its last chunk if that holds bytes.
  void out_bytes(connection& c, std::string_view b) {
    if (b.empty()) return;
    if (c.out.empty() || c.out.back().file) c.out.emplace_back();
    c.out.back().bytes.append(b);
    c.unsent += b.size();
  }

  // Appends a fetched file range: sent from the file, or copied when small.
  // False (the connection closed) if a small one cannot be read whole.
  bool out_range(connection& c, const batch_range& r) {
    if (r.length < kSendfileMin) {
      if (c.out.empty() || c.out.back().file) c.out.emplace_back();
      std::string& b = c.out.back().bytes;
      size_t at = b.size();
      b.resize(at + r.length);
      ssize_t got = ::pread(r.file->fd(), b.data() + at, r.length, static_cast<off_t>(r.position));
      if (got != static_cast<ssize_t>(r.length)) {
        b.resize(at);
        close_conn(c, "cannot read " + std::to_string(r.length) + " bytes at " + std::to_string(r.position) +
                          " of segment " + r.file->path() + " for a fetch response: " +
                          (got < 0 ? std::strerror(errno) : "the file was cut short since it was read"));
        return false;
      }
    } else {
      out_chunk& k = c.out.emplace_back();
      k.file = r.file;
      k.position = r.position;
      k.length = r.length;
    }
    c.unsent += r.length;
    return true;
  }

  // Moves the answered head of the queue to the output: a response's bytes,
  // with its fetched file ranges where its holes are.
  void flush_ready(connection& c) {
    while (!c.closing && !c.queue.empty() && c.queue.front().ready) {
      slot& s = c.queue.front();
      if (s.holes.empty() && c.out.empty()) {
        c.unsent += s.bytes.size();
        c.out.push_back(out_chunk{std::move(s.bytes), nullptr, 0, 0});
      } else {
        size_t done = 0;
        for (const auto& h : s.holes) {
          out_bytes(c, std::string_view(s.bytes).substr(done, h.at - done));
          done = h.at;
          for (const auto& r : s.files[h.token])
            if (!out_range(c, r)) return;
        }
        out_bytes(c, std::string_view(s.bytes).substr(done));
      }
      c.queue.pop_front();
    }
    if (!c.closing && !c.out.empty()) write_to(c);
  }

  template <class M>
  void answer(slot& s, const M& m, int16_t version, std::vector<wire::hole>* holes = nullptr) {
    Status st = wire::encode_response_frame(m, version, s.correlation_id, s.bytes, holes);
    if (!st.ok()) std::fprintf(stderr, "kappa: internal: cannot encode a response: %s\n", st.message().c_str());
    s.ready = true;
    metrics_.request_answered(s.api_key, metrics::now_us() - s.received_us);
  }

  void handle(connection& c, const std::string& frame) {
    auto parsed = wire::parse_request_header(frame);
    if (!parsed.ok()) {
      close_conn(c, "malformed request header: " + parsed.status().message());
      return;
    }
    const wire::request_header& h = parsed->header;
    int64_t received_us = metrics::now_us();
    auto req = wire::decode_request(h, parsed->body);
    if (!req.ok()) {
      if (h.api_key == 18 && req.status().is_not_found()) {  // ApiVersions past our range
        slot& s = c.queue.emplace_back();
        s.correlation_id = h.correlation_id;
        s.api_key = h.api_key;
        s.received_us = received_us;
        answer(s, wire::unsupported_api_versions_response(), wire::kUnsupportedApiVersionsReplyVersion);
        return;
      }
      close_conn(c, req.status().message());
      return;
    }
    if (auto* p = std::get_if<wire::produce_request>(&req.value()); p && p->acks == 0) {
      produce(*p, h.api_version, c.id, nullptr);  // acks=0: no response at all
      metrics_.request_answered(h.api_key, metrics::now_us() - received_us);
      return;
    }
    slot& s = c.queue.emplace_back();
    s.correlation_id = h.correlation_id;
    s.api_key = h.api_key;
    s.received_us = received_us;
    s.version = h.api_version;
    std::visit([&](auto& r) { dispatch(c, s, h, r); }, req.value());
  }

  // ---- the APIs

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::api_versions_request&) {
    answer(s, wire::supported_api_versions(), h.api_version);
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::metadata_request& r) {
    wire::metadata_response m;
    m.brokers.push_back({kNodeId, advertised_.host, advertised_.port, std::nullopt});
    m.cluster_id = cluster_id();
    m.controller_id = kNodeId;
    std::vector<std::pair<std::string, int32_t>> topics;
    std::vector<int16_t> errors;
    if (!r.topics) {
      topics = log_.all_topics();
      errors.assign(topics.size(), kNone);
    } else {
      for (const auto& t : *r.topics) {
        int16_t err;
        int32_t n = log_.partitions_of(t.name, r.allow_auto_topic_creation || h.api_version < 4, &err);
        topics.emplace_back(std::string(t.name), n);
        errors.push_back(err);
      }
    }
    for (size_t i = 0; i < topics.size(); i++) {
      auto& t = m.topics.emplace_back();
      t.name = topics[i].first;
      t.error_code = errors[i];
      for (int32_t p = 0; errors[i] == kNone && p < topics[i].second; p++)
        t.partitions.push_back({kNone, p, kNodeId, {kNodeId}, {kNodeId}, {}});
    }
    answer(s, m, h.api_version);
    rewatch();
  }

  // Appends a produce request's batches; results in s->produced (s null
  // for acks=0). A partition another process is writing parks its batch.
  void produce(const wire::produce_request& r, int16_t version, uint64_t conn, slot* s) {
    int64_t deadline = steady_clock_ms() + std::clamp<int64_t>(r.timeout_ms, 100, 60000);
    std::vector<produce_result> scratch;
    std::vector<produce_result>& out = s ? s->produced : scratch;
    for (const auto& t : r.topics)
      for (const auto& p : t.partitions) {
        produce_result& res = out.emplace_back(produce_result{std::string(t.name), p.index, kNone, -1});
        if (!p.records || p.records->empty()) {
          res.error = kCorruptMessage;
          report_refused(res, "empty record set");
          continue;
        }
        if (version < kProduceZstdSince && carries_zstd(*p.records)) {
          res.error = kUnsupportedCompressionType;
          report_refused(res, "a zstd batch in Produce v" + std::to_string(version) + " (zstd needs v7)");
          continue;
        }
        bool behind = std::any_of(parked_.begin(), parked_.end(), [&](const parked_batch& b) {
          return b.partition == p.index && b.topic == t.name;
        });
        if (!behind && append_one(res, *p.records)) continue;
        parked_.push_back({conn, s, out.size() - 1, res.topic, p.index, std::string(*p.records), deadline});
        if (s) s->pending++;
      }
  }

  // One partition's batch; false if that partition is busy (not appended).
  bool append_one(produce_result& res, std::string_view batch) {
    std::string why;
    res.error = log_.append(res.topic, res.partition, batch, &res.base_offset, &res.log_append_time, &why);
    if (res.error == kPartitionBusy) return false;
    if (res.error == kNone) {
      metrics_.produced(res.topic, batch);
      produced_this_round_ = true;
      rewatch_soon_ = true;
    } else {
      report_refused(res, why);
    }
    return true;
  }

  static void report_refused(const produce_result& res, const std::string& why) {
    if (res.error != kUnknownTopicOrPartition && res.error != kInvalidTopic)
      std::fprintf(stderr, "kappa: refused a produce to topic %s partition %d: %s\n", res.topic.c_str(),
                   res.partition, why.c_str());
  }

  // Tries the parked batches again, oldest first; one still busy keeps the
  // later ones of its partition parked behind it. Past its deadline (or
  // when stopping) a batch is answered REQUEST_TIMED_OUT.
  void retry_parked(int64_t now, bool stopping) {
    std::set<std::pair<std::string, int32_t>> busy;
    for (auto it = parked_.begin(); it != parked_.end();) {
      parked_batch& b = *it;
      produce_result scratch{b.topic, b.partition, kNone, -1};
      produce_result& res = b.s ? b.s->produced[b.result] : scratch;
      bool done = false;
      if (!busy.count({b.topic, b.partition})) {
        done = append_one(res, b.batch);
        if (!done) busy.insert({b.topic, b.partition});
      }
      if (!done && (now >= b.deadline || stopping)) {
        res.error = kRequestTimedOut;
        std::fprintf(stderr,
                     "kappa: timed out a produce to topic %s partition %d: another process kept writing it "
                     "(see its writer.lock); the client may retry\n",
                     b.topic.c_str(), b.partition);
        done = true;
      }
      if (!done) {
        ++it;
        continue;
      }
      if (b.s && --b.s->pending == 0) sync_waiters_.emplace_back(b.conn, b.s);
      it = parked_.erase(it);
    }
  }

  void dispatch(connection& c, slot& s, const wire::request_header& h, const wire::produce_request& r) {
    if (r.transactional_id) {
      std::vector<produce_result> refused;
      for (const auto& t : r.topics)
        for (const auto& p : t.partitions)
          refused.push_back({std::string(t.name), p.index, 53, -1});  // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      s.produced = std::move(refused);
      answer_produce(s);
      return;
    }
    produce(r, h.api_version, c.id, &s);
    s.after_sync = true;
    if (s.pending == 0) sync_waiters_.emplace_back(c.id, &s);
  }

  void answer_produce(slot& s) {
    wire::produce_response m;
    for (const auto& p : s.produced) {
      if (m.responses.empty() || m.responses.back().name != p.topic) m.responses.push_back({p.topic, {}});
      int64_t log_start = p.error == kNone && s.version >= 5 ? log_.log_start_offset(p.topic, p.partition) : -1;
      m.responses.back().partitions.push_back(
          {p.partition, p.error, p.base_offset, p.error == kNone ? p.log_append_time : -1, log_start});
    }
    answer(s, m, s.version);
  }

  void dispatch(connection& c, slot& s, const wire::request_header& h, const wire::fetch_request& r) {
    if (h.api_version >= kFetchSessionsSince) {
      if (int16_t err = fetch_session_error(r.session_id, r.session_epoch); err != kNone) {
        wire::fetch_response m;  // no partitions: the client retries with a full fetch
        m.error_code = err;
        answer(s, m, h.api_version);
        return;
      }
    }
    auto w = std::make_unique<fetch_wait>();
    w->version = h.api_version;
    w->min_bytes = r.min_bytes;
    w->max_bytes = r.max_bytes;
    w->deadline_ms = steady_clock_ms() + std::max(0, r.max_wait_ms);
    for (const auto& t : r.topics)
      for (const auto& p : t.partitions)
        w->parts.push_back({std::string(t.topic), p.partition, p.fetch_offset, p.partition_max_bytes});
    s.fetch = std::move(w);
    if (!try_fetch(s, false)) waiting_.push_back({c.id, &s, s.fetch->deadline_ms});
  }

  // Answers a fetch if it has min_bytes (or must answer now). True if answered.
  bool try_fetch(slot& s, bool must) {
    fetch_wait& w = *s.fetch;
    std::vector<log_service::fetched> got;
    size_t total = 0;
    bool any_error = false;
    for (const auto& p : w.parts) {
      size_t room =
          static_cast<size_t>(std::max(0, w.max_bytes)) > total ? static_cast<size_t>(w.max_bytes) - total : 0;
      size_t limit = std::min(static_cast<size_t>(std::max(0, p.max_bytes)), room);
      got.push_back(log_.fetch(p.topic, p.partition, p.offset, limit, total == 0));
      total += got.back().bytes;
      any_error |= got.back().error != kNone;
    }
    if (!must && !any_error && static_cast<int64_t>(total) < std::max(1, w.min_bytes) &&
        steady_clock_ms() < w.deadline_ms)
      return false;
    wire::fetch_response m;
    for (size_t i = 0; i < w.parts.size(); i++) {
      const auto& p = w.parts[i];
      if (m.responses.empty() || m.responses.back().topic != p.topic) m.responses.push_back({p.topic, {}});
      wire::fetch_response::partition fp;
      fp.partition_index = p.partition;
      fp.error_code = got[i].error;
      fp.high_watermark = got[i].high_watermark;
      fp.last_stable_offset = got[i].high_watermark;
      fp.log_start_offset = got[i].log_start_offset;
      fp.records = std::string_view();
      if (!got[i].ranges.empty()) fp.external = wire::external_records{got[i].bytes, s.files.size()};
      uint64_t records = 0;
      for (const auto& r : got[i].ranges) records += r.records;
      metrics_.fetched(p.topic, records, got[i].bytes);
      s.files.push_back(std::move(got[i].ranges));
      m.responses.back().partitions.push_back(std::move(fp));
    }
    answer(s, m, w.version, &s.holes);
    s.fetch.reset();
    return true;
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::list_offsets_request& r) {
    wire::list_offsets_response m;
    for (const auto& t : r.topics) {
      auto& mt = m.topics.emplace_back();
      mt.name = t.name;
      for (const auto& p : t.partitions) {
        int64_t off = -1, ts = -1;
        int16_t err = log_.list_offset(t.name, p.partition_index, p.timestamp, &off, &ts);
        mt.partitions.push_back({p.partition_index, err, ts, off});
      }
    }
    answer(s, m, h.api_version);
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::create_topics_request& r) {
    wire::create_topics_response m;
    std::vector<std::string> messages(r.topics.size());
    for (size_t i = 0; i < r.topics.size(); i++) {
      const auto& t = r.topics[i];
      std::vector<std::pair<std::string, std::string>> configs;
      for (const auto& cfg : t.configs)
        if (cfg.value) configs.emplace_back(std::string(cfg.name), std::string(*cfg.value));
      int32_t parts = t.assignments.empty() ? t.num_partitions : static_cast<int32_t>(t.assignments.size());
      int16_t err = log_.create_topic(t.name, parts, t.replication_factor, configs, r.validate_only, &messages[i]);
      auto& mt = m.topics.emplace_back();
      mt.name = t.name;
      mt.error_code = err;
      if (err != kNone) mt.error_message = messages[i];
    }
    answer(s, m, h.api_version);
    rewatch();
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::delete_topics_request& r) {
    wire::delete_topics_response m;
    for (const auto& name : r.topic_names) m.responses.push_back({name, log_.delete_topic(name)});
    answer(s, m, h.api_version);
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::describe_configs_request& r) {
    wire::describe_configs_response m;
    std::vector<std::vector<std::pair<std::string, std::string>>> configs(r.resources.size());
    for (size_t i = 0; i < r.resources.size(); i++) {
      const auto& res = r.resources[i];
      auto& mr = m.results.emplace_back();
      mr.resource_type = res.resource_type;
      mr.resource_name = res.resource_name;
      if (res.resource_type == 4) continue;  // the broker's own configs: none to show
      if (res.resource_type != 2 || !log_.topic_configs(res.resource_name, &configs[i])) {
        mr.error_code = kUnknownTopicOrPartition;
        continue;
      }
      for (const auto& [k, v] : configs[i]) {
        if (res.configuration_keys && std::find(res.configuration_keys->begin(), res.configuration_keys->end(), k) ==
                                          res.configuration_keys->end())
          continue;
        wire::describe_configs_response::config cf;
        cf.name = k;
        cf.value = v;
        cf.config_source = 5;  // DEFAULT_CONFIG or TOPIC_CONFIG (1): close enough for clients
        mr.configs.push_back(cf);
      }
    }
    answer(s, m, h.api_version);
  }

  // InitProducerId for idempotent producers (not transactional ones): a new
  // producer id never given out before, also across restarts (it grows
  // with the clock), and epoch 0.
  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::init_producer_id_request& r) {
    wire::init_producer_id_response m;
    if (r.transactional_id) {
      m.error_code = 53;  // TRANSACTIONAL_ID_AUTHORIZATION_FAILED: no transactions here
    } else {
      next_producer_id_ = std::max(next_producer_id_ + 1, wall_clock_ms() * 1000);
      m.producer_id = next_producer_id_;
      m.producer_epoch = 0;
    }
    answer(s, m, h.api_version);
  }

  // ---- the group coordinator (group_coordinator.h) and committed offsets

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::find_coordinator_request& r) {
    wire::find_coordinator_response m;
    if (r.key_type != 0) {
      m.error_code = 15;  // COORDINATOR_NOT_AVAILABLE: no transactions here
      m.error_message = "kappa serve has no transaction coordinator";
    }
    m.node_id = kNodeId;
    m.host = advertised_.host;
    m.port = advertised_.port;
    answer(s, m, h.api_version);
  }

  void dispatch(connection& c, slot& s, const wire::request_header& h, const wire::join_group_request& r) {
    std::string_view host(c.peer);
    host = host.substr(0, host.rfind(':'));
    int16_t version = h.api_version;
    groups_.join(c.id, version, r, h.client_id.value_or(""), host, steady_clock_ms(),
                 [this, &s, version](const wire::join_group_response& m) { answer(s, m, version); });
  }

  void dispatch(connection& c, slot& s, const wire::request_header& h, const wire::sync_group_request& r) {
    int16_t version = h.api_version;
    groups_.sync(c.id, r, steady_clock_ms(),
                 [this, &s, version](const wire::sync_group_response& m) { answer(s, m, version); });
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::heartbeat_request& r) {
    answer(s, groups_.heartbeat(r, steady_clock_ms()), h.api_version);
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::leave_group_request& r) {
    answer(s, groups_.leave(r, steady_clock_ms()), h.api_version);
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::offset_commit_request& r) {
    wire::offset_commit_response m;
    int16_t err = groups_.check_commit(r.group_id, r.generation_id, r.member_id, steady_clock_ms());
    for (const auto& t : r.topics) {
      auto& mt = m.topics.emplace_back();
      mt.name = t.name;
      int16_t terr = err;
      std::vector<std::pair<int32_t, int64_t>> offs;
      if (terr == kNone) {
        int32_t n = log_.partitions_of(t.name, false, &terr);
        for (const auto& p : t.partitions)
          if (terr == kNone && (p.partition_index < 0 || p.partition_index >= n)) terr = kUnknownTopicOrPartition;
      }
      if (terr == kNone) {
        for (const auto& p : t.partitions) offs.emplace_back(p.partition_index, p.committed_offset);
        Status st = dd_.ensure_created();
        if (st.ok()) st = dd_.catalog()->commit_offsets(std::string(r.group_id), std::string(t.name), offs);
        if (!st.ok()) terr = kUnknownServerError;
      }
      for (const auto& p : t.partitions) mt.partitions.push_back({p.partition_index, terr});
    }
    answer(s, m, h.api_version);
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::offset_fetch_request& r) {
    wire::offset_fetch_response m;
    std::vector<group_offset> offs;
    if (dd_.catalog()) {
      auto got = dd_.catalog()->group_offsets(std::string(r.group_id));
      if (got.ok()) offs = std::move(got.value());
    }
    auto committed = [&](std::string_view topic, int32_t p) -> int64_t {
      for (const auto& o : offs)
        if (o.topic == topic && o.partition == p) return o.offset;
      return -1;
    };
    if (r.topics) {
      for (const auto& t : *r.topics) {
        auto& mt = m.topics.emplace_back();
        mt.name = t.name;
        for (int32_t p : t.partition_indexes) mt.partitions.push_back({p, committed(t.name, p), "", kNone});
      }
    } else {  // v2+: every partition the group has committed
      for (const auto& o : offs) {
        if (m.topics.empty() || m.topics.back().name != o.topic) m.topics.push_back({o.topic, {}});
        m.topics.back().partitions.push_back({o.partition, o.offset, "", kNone});
      }
    }
    answer(s, m, h.api_version);
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::list_groups_request&) {
    wire::list_groups_response m;
    std::vector<group_listing> live = groups_.list_groups();
    std::vector<std::string> stored;
    if (dd_.catalog())
      if (auto g = dd_.catalog()->list_groups(); g.ok()) stored = std::move(g.value());
    for (const auto& g : live) m.groups.push_back({g.group_id, g.protocol_type});
    for (const auto& g : stored)
      if (std::none_of(live.begin(), live.end(), [&](const group_listing& l) { return l.group_id == g; }))
        m.groups.push_back({g, "consumer"});  // committed by the CLI or an assign()-style client
    answer(s, m, h.api_version);
  }

  void dispatch(connection&, slot& s, const wire::request_header& h, const wire::describe_groups_request& r) {
    wire::describe_groups_response m;
    std::vector<group_description> described;
    for (auto g : r.groups) described.push_back(groups_.describe_group(g));
    for (const auto& d : described) {
      auto& mg = m.groups.emplace_back();
      mg.group_id = d.group_id;
      mg.group_state = d.state;
      mg.protocol_type = d.protocol_type;
      mg.protocol_data = d.protocol;
      for (const auto& mb : d.members)
        mg.members.push_back({mb.member_id, mb.client_id, mb.client_host, mb.metadata, mb.assignment});
    }
    answer(s, m, h.api_version);
  }

  template <class R>
  void dispatch(connection& c, slot&, const wire::request_header& h, const R&) {
    // Decoded but not served yet by this broker: as for an API it does not
    // know, the connection closes.
    close_conn(c, "API key " + std::to_string(h.api_key) + " (" +
                      std::string(wire::find_api(h.api_key) ? wire::find_api(h.api_key)->name : "?") +
                      ") is not served yet");
  }

  // Stable across restarts (clients check that a cluster keeps its id):
  // derived from where the data dir is.
  const std::string& cluster_id() {
    if (cluster_id_.empty()) {
      char abs[PATH_MAX];
      std::string where = ::realpath(dd_.path().c_str(), abs) ? abs : dd_.path();
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(std::hash<std::string>{}(where)));
      cluster_id_ = std::string("kappa-") + hex;
    }
    return cluster_id_;
  }

  std::string metrics_page() { return metrics_.scrape(dd_, groups_, conns_.size(), wall_clock_ms()); }

  // After a round of events: the shared fsync, then what it unblocked,
  // waiting fetches that can go, and the connections' output.
  void round_end(bool data_changed, bool stopping = false) {
    groups_.tick(steady_clock_ms());
    if (!parked_.empty() && (data_changed || stopping || steady_clock_ms() >= next_parked_retry_)) {
      retry_parked(steady_clock_ms(), stopping);
      next_parked_retry_ = steady_clock_ms() + kParkedRetryMs;
    }
    if (!sync_waiters_.empty() || produced_this_round_) {
      std::vector<std::string> failed = log_.sync();
      for (auto& [conn, s] : sync_waiters_) {
        for (auto& p : s->produced)
          if (p.error == kNone &&
              std::find(failed.begin(), failed.end(), p.topic + "/" + std::to_string(p.partition)) != failed.end())
            p.error = kKafkaStorageError;
        answer_produce(*s);
      }
      sync_waiters_.clear();
      produced_this_round_ = false;
    }
    int64_t now = steady_clock_ms();
    if (data_changed || !waiting_.empty()) {
      std::erase_if(waiting_, [&](waiting_fetch& w) {
        if (!data_changed && now < w.deadline) return false;
        return try_fetch(*w.s, now >= w.deadline);
      });
    }
    for (auto& [fd, c] : conns_)
      if (!c->closing) flush_ready(*c);
    for (int fd : dead_) {
      ::close(fd);
      conns_.erase(fd);
    }
    dead_.clear();
    log_.release_idle(now, kIdleWriterMs);
    if (rewatch_soon_ || now - last_rewatch_ >= kRewatchMs) {
      rewatch_soon_ = false;
      rewatch();
    }
  }

  data_dir& dd_;
  server_options o_;
  partition_lock serve_lock_;
  log_service log_;
  group_coordinator groups_;
  metrics metrics_;
  metrics_http metrics_http_;
  host_port advertised_;
  std::string cluster_id_;
  int listen_fd_ = -1, epoll_fd_ = -1, inotify_fd_ = -1;
  uint64_t next_conn_id_ = 0;
  int64_t next_producer_id_ = 0;
  std::map<int, std::unique_ptr<connection>> conns_;
  std::vector<int> dead_;
  std::vector<waiting_fetch> waiting_;
  std::vector<std::pair<uint64_t, slot*>> sync_waiters_;
  std::deque<parked_batch> parked_;
  int64_t next_parked_retry_ = 0;
  std::set<std::string> watched_;
  bool produced_this_round_ = false, rewatch_soon_ = false;
  int64_t last_rewatch_ = 0;
};

}  // namespace

Status serve(data_dir& dd, const server_options& options, const volatile std::sig_atomic_t* stop) {
  server s(dd, options);
  KAPPA_RETURN_IF_ERROR(s.start());
  job_host jobs(dd);
  if (options.jobs) jobs.start();
  s.run(stop);
  jobs.stop();  // each job checkpoints first
  return Status::OK();
}

}  // namespace kappa::broker
