// php-fpm's checks across the settings of a pool (fpm_conf.c,
// fpm_conf_process_all_pools), reported at the line of the setting to change.
#include <arpa/inet.h>

#include <map>

#include "pool/config_builder.h"
#include "server/fastcgi/listen_address.h"

namespace cppfpm::pool {

namespace {

// The socket a listen value names, so "9000", "*:9000" and "0.0.0.0:9000"
// compare equal; a value that does not parse has been reported already.
std::string socket_of(const std::string& listen) {
  std::string error;
  auto address = server::parse_listen(listen, error);
  return address ? address->str() : listen;
}

std::string count(std::string_view key, int value) {
  return std::string(key) + " (" + std::to_string(value) + ")";
}

void validate_dynamic(PoolDraft& pool, Diagnostics& diagnostics) {
  PoolConfig& c = pool.config;
  const std::string p = pool.prefix();
  const std::string min = count("pm.min_spare_servers", c.pm_min_spare_servers);
  const std::string max = count("pm.max_spare_servers", c.pm_max_spare_servers);
  const std::string children = count("pm.max_children", c.pm_max_children);
  if (c.pm_min_spare_servers < 1) {
    diagnostics.error(pool.where({"pm.min_spare_servers"}),
                      p + min + " must be at least 1 when pm = dynamic");
    return;
  }
  if (c.pm_max_spare_servers < 1) {
    diagnostics.error(pool.where({"pm.max_spare_servers"}),
                      p + max + " must be at least 1 when pm = dynamic");
    return;
  }
  if (c.pm_min_spare_servers > c.pm_max_children) {
    diagnostics.error(pool.where({"pm.min_spare_servers", "pm.max_children"}),
                      p + min + " cannot be greater than " + children +
                          "; raise pm.max_children or lower pm.min_spare_servers");
    return;
  }
  if (c.pm_max_spare_servers > c.pm_max_children) {
    diagnostics.error(pool.where({"pm.max_spare_servers", "pm.max_children"}),
                      p + max + " cannot be greater than " + children +
                          "; raise pm.max_children or lower pm.max_spare_servers");
    return;
  }
  if (c.pm_max_spare_servers < c.pm_min_spare_servers) {
    diagnostics.error(pool.where({"pm.max_spare_servers", "pm.min_spare_servers"}),
                      p + max + " must not be less than " + min);
    return;
  }
  // php-fpm's default for an unset (or zero) pm.start_servers.
  if (!pool.is_set("pm.start_servers") || c.pm_start_servers == 0) {
    c.pm_start_servers =
        c.pm_min_spare_servers + (c.pm_max_spare_servers - c.pm_min_spare_servers) / 2;
    c.pm_start_servers_defaulted = true;
    return;
  }
  if (c.pm_start_servers < c.pm_min_spare_servers || c.pm_start_servers > c.pm_max_spare_servers) {
    diagnostics.error(pool.where({"pm.start_servers"}),
                      p + count("pm.start_servers", c.pm_start_servers) +
                          " must not be less than " + min + " nor greater than " + max);
  }
}

bool is_ip_address(const std::string& text) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), address) == 1 ||
         inet_pton(AF_INET6, text.c_str(), address) == 1;
}

// php-fpm's words (fcgi_set_allowed_clients); it starts anyway, and a
// connection from an address that is not listed is refused.
void validate_allowed_clients(PoolDraft& pool, Diagnostics& diagnostics) {
  const auto& clients = pool.config.listen_allowed_clients;
  bool any_valid = clients.empty();
  for (const std::string& client : clients) {
    if (is_ip_address(client)) {
      any_valid = true;
    } else {
      diagnostics.warning(
          pool.where({"listen.allowed_clients"}),
          pool.prefix() + "Wrong IP address '" + client + "' in listen.allowed_clients");
    }
  }
  if (!any_valid)
    diagnostics.warning(pool.where({"listen.allowed_clients"}),
                        pool.prefix() + "There are no allowed addresses: every connection " +
                            "to the pool's socket is refused");
}

void validate_pool(PoolDraft& pool, Diagnostics& diagnostics) {
  PoolConfig& c = pool.config;
  const std::string p = pool.prefix();
  validate_allowed_clients(pool, diagnostics);
  if (!c.listen_acl_users.empty() || !c.listen_acl_groups.empty()) {
    // php-fpm's words (fpm_unix_resolve_socket_permissions).
    if (!c.listen_owner.empty())
      diagnostics.warning(pool.where({"listen.owner"}),
                          p + "ACL set, listen.owner = '" + c.listen_owner + "' is ignored");
    if (!c.listen_group.empty())
      diagnostics.warning(pool.where({"listen.group"}),
                          p + "ACL set, listen.group = '" + c.listen_group + "' is ignored");
  }
  if (c.pm == PmMode::dynamic) validate_dynamic(pool, diagnostics);
  if (c.pm == PmMode::ondemand && c.pm_process_idle_timeout.count() < 1) {
    diagnostics.error(pool.where({"pm.process_idle_timeout"}),
                      p + "pm.process_idle_timeout must be at least 1s when pm = ondemand");
  }
  if (c.request_slowlog_timeout.count() > 0 && c.slowlog.empty()) {
    diagnostics.error(pool.where({"request_slowlog_timeout"}),
                      p + "request_slowlog_timeout is set but slowlog is empty; set slowlog " +
                          "to the file slow requests are logged to");
  }
  if (c.pm_queue_timeout.count() > 0 && c.pm_queue_timeout < std::chrono::milliseconds(100)) {
    diagnostics.warning(pool.where({"pm.queue_timeout"}),
                        p + "pm.queue_timeout = " + std::to_string(c.pm_queue_timeout.count()) +
                            "ms: a request that meets every thread busy for a moment is " +
                            "answered 503; give it at least 100ms, or 0 for no limit");
  }
  if (c.session_save_handler == "memory" && c.pm_max_children > 1) {
    diagnostics.warning(pool.where({"session.save_handler"}),
                        p + "session.save_handler = memory keeps sessions inside one child; " +
                            "with " + count("pm.max_children", c.pm_max_children) +
                            " a session is lost when another child answers");
  }
  if (!c.pm_status_listen.empty() && socket_of(c.pm_status_listen) == socket_of(c.listen)) {
    diagnostics.error(pool.where({"pm.status_listen"}),
                      p + "pm.status_listen = " + c.pm_status_listen +
                          " is the pool's own listen address; give it another one");
  }
  if (!c.pm_status_listen.empty() && c.pm_status_path.empty() && c.ping_path.empty()) {
    diagnostics.warning(
        pool.where({"pm.status_listen"}),
        p + "pm.status_listen serves only pm.status_path and ping.path, and " + "neither is set");
  }
  if (pool.php_memcached_handler) {
    // A php-memcached pool file: share its sessions (memc.sess.key.<id>)
    // and its locks unless the file says otherwise.
    if (!pool.is_set("session.key_prefix")) c.session.key_prefix = "memc.sess.key.";
    if (!pool.is_set("session.lock_key_style")) c.session.lock_key_style = "memcached";
  }
  if (pool.files_handler_requested && pool.is_set("session.save_path")) {
    diagnostics.warning(pool.where({"session.save_path"}),
                        p + "session.save_path is ignored because session.save_handler = " +
                            "files is not supported");
    c.session_save_path = PoolConfig{}.session_save_path;
  }
}

}  // namespace

void validate_pools(std::vector<PoolDraft>& pools, Diagnostics& diagnostics) {
  std::map<std::string, const PoolDraft*> listeners;
  for (PoolDraft& pool : pools) {
    validate_pool(pool, diagnostics);
    auto [first, fresh] = listeners.emplace(socket_of(pool.config.listen), &pool);
    if (!fresh) {
      diagnostics.error(pool.where({"listen"}), pool.prefix() + "listen = " + pool.config.listen +
                                                    " is already the address of pool " +
                                                    first->second->config.name +
                                                    "; give each pool its own listen address");
    }
  }
}

}  // namespace cppfpm::pool
