// kappa serve: a Kafka broker over a data dir (SPEC section 8).
//
// One thread runs an epoll loop over the listening socket, every client
// connection and an inotify watch of the partitions (appends by other
// processes wake waiting fetches; nothing polls). A connection's requests
// are decoded as their frames complete and answered strictly in order
// (clients pipeline); a response may wait: a produce for the round's shared
// fsync, a fetch for data or its max wait. A connection whose unsent
// responses pile up is not read until they drain. Bad bytes close only the
// connection they came on, with a line on stderr.
#pragma once

#include <csignal>
#include <cstdint>
#include <string>

#include "kappa/data_dir.h"
#include "kappa/status.h"

namespace kappa::broker {

struct server_options {
  std::string listen = "127.0.0.1:9092";
  std::string advertise;  // HOST:PORT told to clients; default: the listener's
  std::string metrics;    // HOST:PORT serving Prometheus text at /metrics; empty: none (metrics.h)
  bool auto_create = true;
  int max_connections = 1000;
  bool jobs = false;  // --jobs: run every job's serving version too (job_host.h)
};

// Serves until *stop becomes non-zero (a signal handler sets it), then
// answers what it has read, syncs and returns. Errors: the listener cannot
// be set up (the address is taken, say).
Status serve(data_dir& dd, const server_options& options, const volatile std::sig_atomic_t* stop);

}  // namespace kappa::broker
