// The keys of a pool section: php-fpm's, with php-fpm's meaning, and
// cppfpm's own (pm.threads_per_child, pm.queue_*, pm.max_pending_heads,
// request_head_first_byte_timeout, sql.*, cache.*).
#include <algorithm>
#include <climits>
#include <map>

#include "pool/config_builder.h"
#include "pool/config_setters.h"
#include "server/fastcgi/listen_address.h"
#include "server/text/host_port.h"

namespace cppfpm::pool {

namespace {

using namespace setters;

// The one parser the master opens the socket with (server/fastcgi).
std::string check_listen_address(const std::string& value) {
  std::string why;
  server::parse_listen(value, why);
  return why;
}

std::string set_listen(PoolConfig& pool, const std::string& value) {
  if (std::string why = check_listen_address(value); !why.empty()) return why;
  pool.listen = value;
  return {};
}

std::string set_status_listen(PoolConfig& pool, const std::string& value) {
  if (std::string why = check_listen_address(value); !why.empty()) return why;
  pool.pm_status_listen = value;
  return {};
}

std::string set_listen_mode(PoolConfig& pool, const std::string& value) {
  bool octal = (value.size() == 3 || value.size() == 4) &&
               std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '7'; });
  if (!octal) return "is not a file mode; write it in octal, e.g. 0660";
  pool.listen_mode = value;
  return {};
}

// An entry that is not an address is kept: it matches no client, so when
// every entry is bad every connection is refused, as php-fpm does; the
// pool check warns about each (config_validate.cpp).
std::string set_allowed_clients(PoolConfig& pool, const std::string& value) {
  std::vector<std::string> clients = split_list(value, ',');
  if (clients.size() == 1 && (clients.front() == "any" || clients.front() == "ANY")) {
    clients.clear();
  }
  pool.listen_allowed_clients = std::move(clients);
  return {};
}

template <auto Field>
std::string name_list(PoolConfig& pool, const std::string& value) {
  pool.*Field = split_list(value, ',');
  return {};
}

std::string set_pm(PoolConfig& pool, const std::string& value) {
  if (value == "static") {
    pool.pm = PmMode::static_;
  } else if (value == "dynamic") {
    pool.pm = PmMode::dynamic;
  } else if (value == "ondemand") {
    pool.pm = PmMode::ondemand;
  } else {
    return "is not a process manager; use static, dynamic or ondemand";
  }
  return {};
}

std::string set_max_memory(PoolConfig& pool, const std::string& value) {
  Parsed<std::uint64_t> size = parse_size(value);
  if (!size.ok()) return size.error;
  pool.pm_max_memory = size.value;
  return {};
}

// sql.servers: "host[:port], host[:port], ..." (sql/server_list.h parses
// it in the child; the pool layer does not link sql, so the shape is checked
// here).
std::string set_sql_servers(PoolConfig& pool, const std::string& value) {
  std::string why;
  if (!text::parse_host_port_list(value, 3306, &why)) return why + " (expected host[:port], ...)";
  pool.sql_servers = value;  // the sql layer parses it again, with the same parser
  return {};
}

template <auto Field>
std::string uri_path(PoolConfig& pool, const std::string& value) {
  if (value.size() < 2 || value.front() != '/') return "must be a path starting with '/'";
  pool.*Field = value;
  return {};
}

const std::map<std::string, Setter<PoolConfig>, std::less<>>& pool_keys() {
  constexpr long long kMax = INT_MAX;
  static const std::map<std::string, Setter<PoolConfig>, std::less<>> keys = {
      {"prefix", text<&PoolConfig::prefix>},
      {"listen", set_listen},
      {"listen.backlog", integer<&PoolConfig::listen_backlog, -1, kMax>},
      {"listen.allowed_clients", set_allowed_clients},
      {"listen.owner", text<&PoolConfig::listen_owner>},
      {"listen.group", text<&PoolConfig::listen_group>},
      {"listen.mode", set_listen_mode},
      {"listen.acl_users", name_list<&PoolConfig::listen_acl_users>},
      {"listen.acl_groups", name_list<&PoolConfig::listen_acl_groups>},
      {"user", text<&PoolConfig::user>},
      {"group", text<&PoolConfig::group>},
      {"pm", set_pm},
      {"pm.max_children", integer<&PoolConfig::pm_max_children, 1, kMax>},
      {"pm.start_servers", integer<&PoolConfig::pm_start_servers, 0, kMax>},
      {"pm.min_spare_servers", integer<&PoolConfig::pm_min_spare_servers, 0, kMax>},
      {"pm.max_spare_servers", integer<&PoolConfig::pm_max_spare_servers, 0, kMax>},
      {"pm.max_spawn_rate", integer<&PoolConfig::pm_max_spawn_rate, 1, kMax>},
      {"pm.process_idle_timeout", duration<&PoolConfig::pm_process_idle_timeout>},
      {"pm.max_requests", integer<&PoolConfig::pm_max_requests, 0, kMax>},
      {"pm.status_path", uri_path<&PoolConfig::pm_status_path>},
      {"pm.status_listen", set_status_listen},
      {"pm.threads_per_child", integer<&PoolConfig::threads_per_child, 1, 1024>},
      {"pm.max_memory", set_max_memory},
      {"pm.queue_per_child", integer<&PoolConfig::queue_per_child, 0, kMax>},
      {"pm.queue_timeout", duration<&PoolConfig::pm_queue_timeout>},
      {"pm.reject_when_full", boolean<&PoolConfig::pm_reject_when_full>},
      {"pm.max_pending_heads", integer<&PoolConfig::pm_max_pending_heads, 0, kMax>},
      {"request_head_first_byte_timeout", duration<&PoolConfig::request_head_first_byte_timeout>},
      {"ping.path", uri_path<&PoolConfig::ping_path>},
      {"ping.response", non_empty_text<&PoolConfig::ping_response>},
      {"request_terminate_timeout", duration<&PoolConfig::request_terminate_timeout>},
      {"request_slowlog_timeout", duration<&PoolConfig::request_slowlog_timeout>},
      {"slowlog", text<&PoolConfig::slowlog>},
      {"access.log", text<&PoolConfig::access_log>},
      {"access.format", non_empty_text<&PoolConfig::access_format>},
      {"catch_workers_output", boolean<&PoolConfig::catch_workers_output>},
      {"decorate_workers_output", boolean<&PoolConfig::decorate_workers_output>},
      {"rlimit_files", integer<&PoolConfig::rlimit_files, 0, kMax>},
      {"clear_env", boolean<&PoolConfig::clear_env>},
      {"sql.dsn", non_empty_text<&PoolConfig::sql_dsn>},
      {"sql.servers", set_sql_servers},
      {"sql.pool_size", integer<&PoolConfig::sql_pool_size, 0, kMax>},
      {"sql.connect_timeout", duration<&PoolConfig::sql_connect_timeout>},
      {"sql.read_timeout", duration<&PoolConfig::sql_read_timeout>},
      {"sql.write_timeout", duration<&PoolConfig::sql_write_timeout>},
      {"cache.servers", text<&PoolConfig::cache_servers>},
      {"cache.ttl", duration<&PoolConfig::cache_ttl>},
  };
  return keys;
}

}  // namespace

std::optional<std::string> set_pool_key(PoolConfig& pool, const std::string& key,
                                        const std::string& value) {
  const auto& keys = pool_keys();
  auto found = keys.find(key);
  if (found == keys.end()) return std::nullopt;
  return found->second(pool, value);
}

std::vector<std::string_view> pool_key_names() {
  std::vector<std::string_view> names;
  for (const auto& [name, setter] : pool_keys()) names.push_back(name);
  return names;
}

bool honoured_pool_key(std::string_view key) {
  return pool_keys().count(key) != 0;
}

std::optional<std::string_view> ignored_pool_key(std::string_view key) {
  static const IgnoredKeys reasons = {
      {"listen.setfib", "FreeBSD routing tables are not supported"},
      {"process.priority", "use nice(1) or systemd's Nice="},
      {"process.dumpable", "not supported by cppfpm"},
      {"request_slowlog_trace_depth", "there is no PHP stack to trace"},
      {"request_terminate_timeout_track_finished", "not supported by cppfpm"},
      {"rlimit_core", "use ulimit -c or systemd's LimitCORE="},
      {"chroot", "use systemd's RootDirectory="},
      {"chdir", "compiled handlers read no scripts from a directory"},
      {"security.limit_extensions", "requests are routed on SCRIPT_NAME to compiled handlers"},
      {"apparmor_hat", "not supported by cppfpm"},
  };
  return lookup(reasons, key);
}

}  // namespace cppfpm::pool
