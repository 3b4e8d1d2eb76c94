#include "server/memcached/handle.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

namespace cppfpm::memcached {

Handle::Handle(memcached_st* owned) : mc_(owned), owner_(::getpid()) {}

Handle::~Handle() {
  release();
}

Handle::Handle(Handle&& other) noexcept
    : mc_(std::exchange(other.mc_, nullptr)), owner_(other.owner_) {}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    release();
    mc_ = std::exchange(other.mc_, nullptr);
    owner_ = other.owner_;
  }
  return *this;
}

void Handle::release() {
  if (mc_ != nullptr && owner_ == ::getpid()) memcached_free(mc_);
  mc_ = nullptr;
}

// pecl-memcache speaks the text protocol; a blocked server must cost at
// most `timeouts.call` per call, and a dead one is skipped for
// RETRY_TIMEOUT rather than dialled on every request, then dialled again.
Handle make_memcached_handle(const std::vector<Server>& servers, const Timeouts& timeouts,
                             std::string_view who) {
  Handle handle(memcached_create(nullptr));
  memcached_st* mc = handle.get();
  if (mc == nullptr) return handle;
  const auto ms = static_cast<std::uint64_t>(timeouts.call.count());
  memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0);
  memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
  memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, ms);
  memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, ms);
  memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, ms * 1000);  // microseconds
  memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT, ms * 1000);
  memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT,
                         static_cast<std::uint64_t>(timeouts.retry.count()));
  if (servers.size() > 1) {
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                           MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
  }
  for (const Server& server : servers) {
    const memcached_return_t rc = server.unix_socket
                                      ? memcached_server_add_unix_socket(mc, server.host.c_str())
                                      : memcached_server_add(mc, server.host.c_str(), server.port);
    if (rc != MEMCACHED_SUCCESS) {
      spdlog::error("{}: memcached_server_add({}:{}) failed: {}", who, server.host, server.port,
                    memcached_strerror(mc, rc));
      return Handle();
    }
  }
  return handle;
}

}  // namespace cppfpm::memcached
