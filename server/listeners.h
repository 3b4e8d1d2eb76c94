#pragma once
// The master's listening sockets: opened at start, or taken over from the
// previous generation across a reload (server/reexec.h), then inherited by
// every child.
#include <map>
#include <string>
#include <vector>

#include "pool/config.h"
#include "pool/master.h"
#include "server/fastcgi/fd.h"
#include "server/reexec.h"

namespace cppfpm::server {

class Listeners {
 public:
  // Takes ownership of the sockets of a reload (address -> fd).
  explicit Listeners(const std::map<std::string, int>& inherited);

  // The listening socket for `value` (a pool's `listen` or
  // `pm.status_listen`, named by `key` in errors): the inherited one for
  // that address when there is one, else a new one. -1 with the exit code
  // in `code` (78 for a bad address, 1 when it cannot be opened) on failure,
  // which is logged.
  int open_or_inherit(const pool::PoolConfig& pool, const char* key, const std::string& value,
                      int& code);

  // Closes the inherited sockets that no pool listens on any more.
  void close_unused() { inherited_.clear(); }

  // Every open listener by address, for the next re-exec.
  const std::vector<NamedListener>& named() const { return named_; }

 private:
  std::map<std::string, Fd> inherited_;
  std::vector<Fd> open_;
  std::vector<NamedListener> named_;
};

// Opens (or inherits) every pool's listen and pm.status_listen sockets.
// 0 on success, else the exit code after the failure was logged.
int open_pool_listeners(const pool::Config& config, Listeners& listeners,
                        std::vector<pool::PoolRuntime>& pools);

}  // namespace cppfpm::server
