#include "session/memcached_connection.h"

namespace cppfpm::session {
namespace {
constexpr std::string_view kWho = "session store";
}

MemcachedConnection::MemcachedConnection(const std::vector<memcached::Server>& servers,
                                         const memcached::Timeouts& timeouts, int replicas)
    : servers_(servers), timeouts_(timeouts), replicas_(replicas) {
  if (servers.size() > 1) {
    ring_ = memcached::make_memcached_handle(servers, timeouts, kWho);
    if (!ring_.ok()) return;
  }
  for (const memcached::Server& server : servers) {
    per_server_.push_back(
        PerServer{memcached::make_memcached_handle({server}, timeouts, kWho), {}});
    if (!per_server_.back().handle.ok()) return;
  }
  ok_ = true;
}

bool MemcachedConnection::reopen(std::size_t index) {
  memcached::Handle fresh = memcached::make_memcached_handle({servers_[index]}, timeouts_, kWho);
  if (!fresh.ok()) return false;
  per_server_[index] = PerServer{std::move(fresh), {}};
  return true;
}

std::vector<std::size_t> MemcachedConnection::holders(std::string_view key) const {
  const std::size_t n = per_server_.size();
  std::size_t primary = 0;
  if (ring_.ok()) primary = memcached_generate_hash(ring_.get(), key.data(), key.size()) % n;
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i <= static_cast<std::size_t>(replicas_) && i < n; ++i)
    out.push_back((primary + i) % n);
  return out;
}

}  // namespace cppfpm::session
