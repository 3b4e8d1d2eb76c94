#pragma once
// One accepted FastCGI connection. At any moment it is either waiting in
// the event loop (armed) or being served by one worker thread (working);
// the transitions are the only synchronisation it needs.
#include <sys/socket.h>

#include <atomic>
#include <chrono>

#include "server/fastcgi/fd.h"

namespace cppfpm::server {

struct Connection {
  enum class State { armed, working };

  Fd fd;
  sockaddr_storage peer{};
  std::atomic<State> state{State::armed};
  // Set while part of a request head has arrived but not all of it; the
  // loop closes the connection if the rest does not come in time.
  bool partial = false;
  std::chrono::steady_clock::time_point partial_since{};
  std::chrono::steady_clock::time_point accepted_at{};
  std::atomic<unsigned> requests{0};  // requests served on this connection
  // Just accepted, first request not handed to a worker yet: it holds a
  // place in the child's capacity for a short while (loop thread only).
  bool reserved = false;
  // Taken from the backlog while every worker thread was busy, its first
  // request not looked at yet (loop thread only).
  bool overflow = false;
  // Handed over while every worker thread was busy: it waits in the worker
  // queue (set by the loop thread, cleared by the worker that takes it).
  bool queued = false;
  // Came in on pm.status_listen: only the pool's own pages, in the loop.
  bool status_only = false;
};

}  // namespace cppfpm::server
