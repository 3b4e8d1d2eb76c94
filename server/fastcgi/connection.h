#pragma once
// One accepted FastCGI connection. At any moment it is either waiting in
// the event loop (armed) or being served by one worker thread (working);
// the transitions are the only synchronisation it needs.
#include <sys/socket.h>

#include <atomic>
#include <chrono>

#include "server/fastcgi/admission.h"
#include "server/fastcgi/fd.h"

namespace cppfpm::server {

struct Connection {
  enum class State { armed, working };

  Fd fd;
  sockaddr_storage peer{};
  std::atomic<State> state{State::armed};
  std::chrono::steady_clock::time_point accepted_at{};
  // When it last came back to the loop after an answer (rearm).
  std::chrono::steady_clock::time_point idle_since{};
  // Loop thread only: part of a head is in, and the loop is woken by new
  // bytes (edge-triggered), not by the bytes it has already peeked at.
  bool edge_armed = false;
  // Loop thread only: answered 503 with its body still coming; read and
  // dropped until the peer closes (event_loop_queue).
  bool lingering = false;
  std::atomic<unsigned> requests{0};  // requests served on this connection
  AdmissionTicket admission;          // how it came in, what place it holds
};

}  // namespace cppfpm::server
