#include "server/config_paths.h"

#include "server/fastcgi/listen_address.h"

namespace cppfpm::server {

namespace {

// A relative unix socket path gets the prefix; host:port and ports do not.
void resolve_listen(std::string& listen, const std::string& prefix) {
  if (listen.empty()) return;
  std::string error;
  std::optional<ListenAddress> address = parse_listen(listen, error);
  if (address && address->kind == ListenAddress::Kind::unix_path)
    listen = under_prefix(prefix, listen);
}

}  // namespace

std::string under_prefix(const std::string& prefix, const std::string& path) {
  if (prefix.empty() || path.empty() || path.front() == '/') return path;
  return prefix + "/" + path;
}

void resolve_paths(pool::Config& config, const std::string& prefix, const std::string& pid_option) {
  pool::GlobalConfig& global = config.global;
  // php-fpm reads -g first and lets the config's `pid` replace it.
  if (global.pid.empty()) global.pid = pid_option;
  global.pid = under_prefix(prefix, global.pid);
  if (global.error_log.empty() && !prefix.empty()) global.error_log = "log/cppfpm.log";
  if (global.error_log != "syslog") global.error_log = under_prefix(prefix, global.error_log);
  for (pool::PoolConfig& pool : config.pools) {
    // php-fpm: a pool's own prefix, itself relative to the global one.
    if (!pool.prefix.empty()) pool.prefix = under_prefix(prefix, pool.prefix);
    const std::string& base = pool.prefix.empty() ? prefix : pool.prefix;
    pool.access_log = under_prefix(base, pool.access_log);
    pool.slowlog = under_prefix(base, pool.slowlog);
    resolve_listen(pool.listen, base);
    resolve_listen(pool.pm_status_listen, base);
  }
}

}  // namespace cppfpm::server
