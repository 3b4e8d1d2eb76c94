#pragma once
// Whether a failed session-store call is an outage, and the log lines that
// say so: one when a memcached server goes away and one when it is back,
// per server and pool, whatever the number of requests, children and
// threads in between (memcached::OutageLog says which calls count).
#include <libmemcached/memcached.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "server/memcached/outage.h"
#include "server/memcached/servers.h"
#include "session/store.h"

namespace cppfpm::session {

// What one server said to one call.
struct ServerReply {
  StoreResult result = StoreResult::unavailable;  // ok, not_found or unavailable
  // The server answered but refused this request (value too big, not a
  // number...): an error of the request, not an outage.
  bool refused = false;
  std::string error;  // libmemcached's message, when unavailable
};

// The failed replies of one store operation across the holders of its key.
struct Failures {
  bool refused = false;  // one of them was refused
  std::string error;     // the last one's message

  void add(const ServerReply& reply) {
    if (reply.result != StoreResult::unavailable) return;
    refused = refused || reply.refused;
    error = reply.error;
  }
};

// How a call to one server went, for the outage state.
struct CallInfo {
  memcached::OutageLog::Clock::time_point started = memcached::OutageLog::Clock::now();
  // False for a "noreply" command: its success only says the bytes went
  // into the socket, not that the server is there.
  bool answer_expected = true;
};

class MemcachedOutages {
 public:
  // Each server's outage is its own (a failure within `grace` of its
  // recovery is not a new one); the line says what it costs: 503s, or
  // nothing while the replicas answer.
  MemcachedOutages(const std::vector<memcached::Server>& servers, std::chrono::milliseconds grace,
                   int replicas);

  // What `rc`, the answer of server `server` (through `handle`) to `call`
  // on `key`, means; logs the start or the end of that server's outage.
  ServerReply classify(std::size_t server, memcached_st* handle, memcached_return_t rc,
                       const char* call, std::string_view key, CallInfo info = {});

  // The store's answer to an operation that came to `result`, logging a
  // refusal (the servers' outages are logged by classify).
  StoreResult outcome(StoreResult result, const Failures& failures, const char* call,
                      std::string_view key);

  // Whether server `server` was seen back (by any thread of any child)
  // after `t`: a handle that failed before then skips it for nothing.
  bool back_since(std::size_t server, memcached::OutageLog::Clock::time_point t) const {
    return servers_[server].back_since(t);
  }
  // Whether this caller dials server `server` now (one per `interval` in
  // the pool) although its failed handle would skip it.
  bool probe_due(std::size_t server, std::chrono::milliseconds interval) {
    return servers_[server].probe_due(interval);
  }

  // The answer when this thread has no libmemcached handle: logged once
  // until a server answers again.
  StoreResult no_handle(std::string_view key);

 private:
  std::vector<std::string> names_;
  std::string all_names_;
  bool replicated_;
  memcached::OutageLog store_;
  std::vector<memcached::OutageLog> servers_;
};

}  // namespace cppfpm::session
