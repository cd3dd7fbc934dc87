// The --metrics listener: a minimal HTTP/1.1 responder inside the server's
// epoll loop. GET (or HEAD) /metrics gets 200 with the page, any other path
// 404, another method 405, anything unparseable or a request head over
// kMaxRequest bytes 400. One response per connection, then the server's
// side is shut down and the connection closed once the client has closed
// too or after kLingerMs, so an unread request body never turns into a
// reset that would eat the response. Connections idle longer than
// kIdleMs, or past kMaxConnections, are closed: a scraper is one client.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "kappa/status.h"

namespace kappa::broker {

class metrics_http {
 public:
  static constexpr size_t kMaxRequest = 8192;
  static constexpr size_t kMaxConnections = 64;
  static constexpr int64_t kIdleMs = 10000;
  static constexpr int64_t kLingerMs = 2000;

  metrics_http() = default;
  metrics_http(const metrics_http&) = delete;
  metrics_http& operator=(const metrics_http&) = delete;
  ~metrics_http();

  // Listens on HOST:PORT (port 0: any free one) and adds the socket to
  // `epoll_fd`, whose events then go to on_event(). Errors name --metrics
  // and the address: Invalid if it is not HOST:PORT, an I/O error if it
  // cannot be bound.
  Status start(const std::string& address, int epoll_fd);
  bool started() const { return listen_fd_ >= 0; }
  // The bound HOST:PORT (with the port chosen for port 0).
  const std::string& address() const { return bound_; }

  // True if fd is the listener or one of its connections (its events are
  // then handled); page() renders the body of a GET /metrics.
  bool on_event(int fd, uint32_t events, const std::function<std::string()>& page);
  // Closes connections past their time; call at least once a second.
  void tick(int64_t now_ms);

 private:
  struct conn {
    std::string in, out;
    size_t out_off = 0;
    bool responded = false;  // response queued; the rest of the input is drained
    int64_t deadline_ms = 0;
  };
  void accept_all();
  void read_from(int fd, conn& c, const std::function<std::string()>& page);
  void respond(conn& c, const std::function<std::string()>& page);
  void write_to(int fd, conn& c);
  void close_conn(int fd);

  int listen_fd_ = -1, epoll_fd_ = -1;
  std::string bound_;
  std::map<int, conn> conns_;
};

}  // namespace kappa::broker
