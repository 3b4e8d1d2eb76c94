#pragma once
// One thread's handles on the session servers, and which of them hold a key.
#include <libmemcached/memcached.h>

#include <cstddef>
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
  memcached_st* server(std::size_t index) const { return per_server_[index].get(); }

 private:
  int replicas_;
  bool ok_ = false;
  memcached::Handle ring_;
  std::vector<memcached::Handle> per_server_;
};

}  // namespace cppfpm::session
