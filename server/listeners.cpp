#include "server/listeners.h"

#include <fcntl.h>

#include <exception>

#include <spdlog/spdlog.h>

#include "server/fastcgi/listener.h"

namespace cppfpm::server {

Listeners::Listeners(const std::map<std::string, int>& inherited) {
  for (const auto& [address, fd] : inherited) inherited_.emplace(address, Fd(fd));
}

int Listeners::open_or_inherit(const pool::PoolConfig& pool, const char* key,
                               const std::string& value, int& code) {
  std::string error;
  auto address = server::parse_listen(value, error);
  if (!address) {
    spdlog::error("[pool {}] {}: {}", pool.name, key, error);
    code = 78;  // EX_CONFIG
    return -1;
  }
  if (auto it = inherited_.find(address->str()); it != inherited_.end()) {
    // reexec() cleared close-on-exec for the exec; children must not keep
    // the socket across an exec of their own.
    ::fcntl(it->second.get(), F_SETFD, FD_CLOEXEC);
    spdlog::info("using inherited socket fd={}, \"{}\"", it->second.get(), it->first);
    open_.push_back(std::move(it->second));
    inherited_.erase(it);
  } else {
    try {
      open_.push_back(server::open_listener(
          *address,
          server::ListenOptions{pool.listen_backlog, pool.listen_owner, pool.listen_group,
                                pool.listen_mode, pool.listen_acl_users, pool.listen_acl_groups}));
    } catch (const std::exception& e) {
      spdlog::error("[pool {}] {}: {}", pool.name, key, e.what());
      code = 1;
      return -1;
    }
  }
  named_.emplace_back(address->str(), open_.back().get());
  return open_.back().get();
}

int open_pool_listeners(const pool::Config& config, Listeners& listeners,
                        std::vector<pool::PoolRuntime>& pools) {
  for (const auto& p : config.pools) {
    int code = 0;
    int listen_fd = listeners.open_or_inherit(p, "listen", p.listen, code);
    if (listen_fd < 0) return code;
    pools.push_back(pool::PoolRuntime{&p, listen_fd});
    if (!p.pm_status_listen.empty()) {
      int status_fd = listeners.open_or_inherit(p, "pm.status_listen", p.pm_status_listen, code);
      if (status_fd < 0) return code;
      pools.back().status_fd = status_fd;
    }
  }
  listeners.close_unused();
  return 0;
}

}  // namespace cppfpm::server
