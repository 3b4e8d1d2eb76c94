#pragma once
// Whether a failed session-store call is an outage, and the log lines that
// say so: one when memcached goes away and one when it is back, per pool,
// whatever the number of requests and children in between.
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

class MemcachedOutages {
 public:
  // Failures within `grace` of a recovery are the tail of that outage.
  // With replicas, each server's outage is logged too, since the store
  // stays up while another holder answers.
  MemcachedOutages(const std::vector<memcached::Server>& servers, std::chrono::milliseconds grace,
                   int replicas);

  // What `rc`, the answer of server `server` (through `handle`) to `call`
  // on `key`, means.
  ServerReply classify(std::size_t server, memcached_st* handle, memcached_return_t rc,
                       const char* call, std::string_view key);

  // The store's answer to an operation that came to `result`, logging a
  // refusal, or the start or end of an outage of the whole store.
  StoreResult outcome(StoreResult result, const Failures& failures, const char* call,
                      std::string_view key);

 private:
  std::vector<std::string> names_;
  std::string all_names_;
  bool replicated_;
  memcached::OutageLog store_;
  std::vector<memcached::OutageLog> servers_;
};

}  // namespace cppfpm::session
