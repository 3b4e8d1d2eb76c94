#pragma once
// A libmemcached handle as cppfpm uses memcached everywhere (session store,
// query cache): text protocol, every call bounded, dead servers skipped.
#include <libmemcached/memcached.h>
#include <sys/types.h>

#include <string_view>
#include <vector>

#include "server/memcached/servers.h"
#include "server/memcached/timeouts.h"

namespace cppfpm::memcached {

// One memcached_st, freed by the process that made it. A handle inherited
// through fork() shares its sockets with the parent: the child must neither
// use nor free it (memcached_free would send "quit" on the parent's
// connection), so there it is abandoned.
class Handle {
 public:
  Handle() = default;
  explicit Handle(memcached_st* owned);
  ~Handle();
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  // False when libmemcached could not set the handle up.
  bool ok() const { return mc_ != nullptr; }
  memcached_st* get() const { return mc_; }

 private:
  void release();

  memcached_st* mc_ = nullptr;
  pid_t owner_ = 0;
};

// A handle on `servers` (ketama when several), each connect/send/receive
// bounded by `timeouts.call`, a failed server skipped for `timeouts.retry`;
// not ok(), logged under `who`, when a server cannot be added.
Handle make_memcached_handle(const std::vector<Server>& servers, const Timeouts& timeouts,
                             std::string_view who);

}  // namespace cppfpm::memcached
