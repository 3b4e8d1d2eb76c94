#pragma once
// One thread's handles on the session servers, and which of them hold a key.
#include <libmemcached/memcached.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "server/memcached/handle.h"
#include "server/memcached/servers.h"
#include "server/memcached/timeouts.h"

namespace cppfpm::session {

// A handle per server, and with several servers a ketama ring that only
// picks a key's primary server: the replicas are the servers after it in
// save_path order, which a ring handle cannot address.
class MemcachedConnection {
 public:
  MemcachedConnection(const std::vector<memcached::Server>& servers,
                      const memcached::Timeouts& timeouts, int replicas);

  // False when libmemcached could not set up one of the handles.
  bool ok() const { return ok_; }

  // Indexes of the servers holding `key`: its ketama server, then the
  // next `replicas` servers of save_path after it.
  std::vector<std::size_t> holders(std::string_view key) const;
  memcached_st* server(std::size_t index) const { return per_server_[index].handle.get(); }

  // When a call of this handle to server `index` last failed to reach it
  // (not one libmemcached skipped from memory), until reopen().
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> failed_at(std::size_t index) const {
    return per_server_[index].failed_at;
  }
  void failed(std::size_t index, Clock::time_point started) {
    per_server_[index].failed_at = started;
  }
  // A new handle for server `index`, so the server is dialled at the next
  // call: libmemcached skips a server for the retry timeout after the
  // handle's own last failure, even when it has been back since. False
  // (the old handle kept) when libmemcached cannot make one.
  bool reopen(std::size_t index);

 private:
  struct PerServer {
    memcached::Handle handle;
    std::optional<Clock::time_point> failed_at;
  };
  std::vector<memcached::Server> servers_;
  memcached::Timeouts timeouts_;
  int replicas_;
  bool ok_ = false;
  memcached::Handle ring_;
  std::vector<PerServer> per_server_;
};

}  // namespace cppfpm::session
