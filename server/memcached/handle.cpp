#include "server/memcached/handle.h"

#include <spdlog/spdlog.h>

namespace cppfpm::memcached {

// A libmemcached handle on `servers`, or nullptr. pecl-memcache speaks the
// text protocol; a blocked server must cost at most `timeout` per call, and
// a dead one is skipped for RETRY_TIMEOUT rather than dialled on every
// request, then dialled again.
memcached_st* make_memcached_handle(const std::vector<Server>& servers, std::chrono::milliseconds timeout,
                                    std::chrono::seconds retry, std::string_view who) {
  memcached_st* handle = memcached_create(nullptr);
  if (handle == nullptr) return nullptr;
  const auto ms = static_cast<std::uint64_t>(timeout.count());
  memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0);
  memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
  memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, ms);
  memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, ms);
  memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, ms * 1000);  // microseconds
  memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_SND_TIMEOUT, ms * 1000);
  memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT,
                         static_cast<std::uint64_t>(retry.count()));
  if (servers.size() > 1) {
    memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                           MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
  }
  for (const Server& server : servers) {
    const memcached_return_t rc =
        server.unix_socket ? memcached_server_add_unix_socket(handle, server.host.c_str())
                           : memcached_server_add(handle, server.host.c_str(), server.port);
    if (rc != MEMCACHED_SUCCESS) {
      spdlog::error("{}: memcached_server_add({}:{}) failed: {}", who, server.host,
                    server.port, memcached_strerror(handle, rc));
      memcached_free(handle);
      return nullptr;
    }
  }
  return handle;
}

}  // namespace cppfpm::memcached
