#include "broker/metrics_http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "util/clock.h"

namespace kappa::broker {

namespace {

constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string response(std::string_view status, std::string_view content_type, std::string_view extra_headers,
                     const std::string& body, bool head) {
  std::string r = "HTTP/1.1 ";
  r += status;
  r += "\r\nContent-Type: ";
  r += content_type;
  r += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
  r += extra_headers;
  r += "\r\n";
  if (!head) r += body;
  return r;
}

std::string plain(std::string_view status, std::string_view extra_headers = {}) {
  return response(status, "text/plain; charset=utf-8", extra_headers, std::string(status) + "\n", false);
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < 'A' || c > 'Z') return false;  // methods: GET, HEAD, POST, ...
  return true;
}

}  // namespace

metrics_http::~metrics_http() {
  for (auto& [fd, c] : conns_) ::close(fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Status metrics_http::start(const std::string& address, int epoll_fd) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size())
    return Status::Invalid("--metrics '" + address + "' is not HOST:PORT");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long port = std::strtol(address.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) return Status::Invalid("--metrics '" + address + "' has a bad port");
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  std::string port_text = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0) return Status::Invalid("--metrics " + address + ": " + gai_strerror(rc));
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
    int err = errno;
    ::freeaddrinfo(res);
    if (fd >= 0) ::close(fd);
    return Status::FromErrno("--metrics: listen on " + address, err);
  }
  ::freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  char text[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    bound_ = "[" + std::string(text) + "]:" + std::to_string(ntohs(a->sin6_port));
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    bound_ = std::string(text) + ":" + std::to_string(ntohs(a->sin_port));
  }
  listen_fd_ = fd;
  epoll_fd_ = epoll_fd;
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e);
  return Status::OK();
}

bool metrics_http::on_event(int fd, uint32_t events, const std::function<std::string()>& page) {
  if (fd < 0) return false;
  if (fd == listen_fd_) {
    accept_all();
    return true;
  }
  auto it = conns_.find(fd);
  if (it == conns_.end()) return false;
  conn& c = it->second;
  if (events & EPOLLOUT) write_to(fd, c);
  if (conns_.count(fd) && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_from(fd, c, page);
  return true;
}

void metrics_http::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (conns_.size() >= kMaxConnections) {
      ::close(fd);
      continue;
    }
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e);
    conns_[fd].deadline_ms = steady_clock_ms() + kIdleMs;
  }
}

void metrics_http::read_from(int fd, conn& c, const std::function<std::string()>& page) {
  char buf[4096];
  for (;;) {
    ssize_t got = ::recv(fd, buf, sizeof buf, 0);
    if (got == 0) {
      close_conn(fd);  // the client is done (or gave up before a whole request)
      return;
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) close_conn(fd);
      return;
    }
    if (c.responded) continue;  // draining what follows the request head
    c.in.append(buf, static_cast<size_t>(got));
    if (c.in.find("\r\n\r\n") != std::string::npos || c.in.find("\n\n") != std::string::npos ||
        c.in.size() > kMaxRequest) {
      respond(c, page);
      write_to(fd, c);
      if (!conns_.count(fd)) return;
    }
  }
}

void metrics_http::respond(conn& c, const std::function<std::string()>& page) {
  c.responded = true;
  c.deadline_ms = steady_clock_ms() + kIdleMs;
  std::string_view in(c.in);
  size_t eol = in.find('\n');
  if (in.size() > kMaxRequest || eol == std::string_view::npos || eol > kMaxRequest) {
    c.out = plain("400 Bad Request");
    return;
  }
  std::string_view line = in.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // METHOD SP TARGET SP HTTP/1.x, nothing else.
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    c.out = plain("400 Bad Request");
    return;
  }
  std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                   version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || target.front() != '/' || version.size() != 8 ||
      version.substr(0, 7) != "HTTP/1." || version[7] < '0' || version[7] > '9') {
    c.out = plain("400 Bad Request");
    return;
  }
  std::string_view path = target.substr(0, target.find('?'));  // a scraper's query parameters are ignored
  if (path != "/metrics") {
    c.out = plain("404 Not Found");
    return;
  }
  bool head = method == "HEAD";
  if (method != "GET" && !head) {
    c.out = plain("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
    return;
  }
  c.out = response("200 OK", kContentType, {}, page(), head);
}

void metrics_http::write_to(int fd, conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = ::send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        close_conn(fd);
        return;
      }
      break;
    }
    c.out_off += static_cast<size_t>(n);
  }
  bool unsent = c.out_off < c.out.size();
  if (c.responded && !unsent) {
    // All sent: say so (FIN) and wait for the client's close a moment.
    ::shutdown(fd, SHUT_WR);
    c.out.clear();
    c.out_off = 0;
    c.deadline_ms = steady_clock_ms() + kLingerMs;
  }
  epoll_event e{};
  e.events = EPOLLIN | (unsent ? EPOLLOUT : 0u);
  e.data.fd = fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &e);
}

void metrics_http::close_conn(int fd) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  conns_.erase(fd);
}

void metrics_http::tick(int64_t now_ms) {
  std::vector<int> due;
  for (const auto& [fd, c] : conns_)
    if (now_ms >= c.deadline_ms) due.push_back(fd);
  for (int fd : due) close_conn(fd);
}

}  // namespace kappa::broker
