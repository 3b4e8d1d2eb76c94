#include "server/config_dump.h"

#include <chrono>

namespace cppfpm::server {

namespace {

class Dump {
 public:
  void section(const std::string& name) { lines_.push_back("[" + name + "]"); }
  void end_section() { lines_.push_back(" "); }
  void text(const std::string& key, const std::string& value) {
    lines_.push_back("\t" + key + " = " + (value.empty() ? "undefined" : value));
  }
  void number(const std::string& key, long long value) { text(key, std::to_string(value)); }
  void flag(const std::string& key, bool value) { text(key, value ? "yes" : "no"); }
  template <class Rep, class Period>
  void seconds(const std::string& key, std::chrono::duration<Rep, Period> value) {
    text(key,
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(value).count()) + "s");
  }
  template <class Rep, class Period>
  void millis(const std::string& key, std::chrono::duration<Rep, Period> value) {
    text(key, std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(value).count()) +
                  "ms");
  }
  std::vector<std::string> take() { return std::move(lines_); }

 private:
  std::vector<std::string> lines_;
};

// The dump goes to stderr and the log: keep the database password out.
std::string without_password(std::string dsn) {
  const std::string key = "password=";
  auto at = dsn.find(key);
  if (at == std::string::npos) return dsn;
  auto end = dsn.find(' ', at);
  dsn.replace(at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size(),
              "***");
  return dsn;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

void dump_global(Dump& d, const pool::GlobalConfig& g) {
  d.section("global");
  d.text("pid", g.pid);
  d.text("error_log", g.error_log);
  d.text("log_level", g.log_level);
  d.text("syslog.ident", g.syslog_ident);
  d.number("syslog.facility", g.syslog_facility);
  d.flag("log_buffering", g.log_buffering);
  d.number("log_limit", g.log_limit);
  d.seconds("emergency_restart_interval", g.emergency_restart_interval);
  d.number("emergency_restart_threshold", g.emergency_restart_threshold);
  d.seconds("process_control_timeout", g.process_control_timeout);
  d.flag("daemonize", g.daemonize);
  d.seconds("systemd_interval", g.systemd_interval);
  d.end_section();
}

// The session settings a pool file can write as session.X.
void dump_session(Dump& d, const pool::PoolConfig& p) {
  const session::Settings& s = p.session;
  d.text("session.save_handler", p.session_save_handler);
  d.text("session.save_path", p.session_save_path);
  d.text("session.name", s.name);
  d.seconds("session.gc_maxlifetime", s.gc_maxlifetime);
  d.number("session.sid_length", s.sid_length);
  d.number("session.sid_bits_per_character", s.sid_bits_per_character);
  d.flag("session.use_strict_mode", s.use_strict_mode);
  d.flag("session.use_cookies", s.use_cookies);
  d.flag("session.use_only_cookies", s.use_only_cookies);
  d.number("session.cookie_lifetime", s.cookie_lifetime);
  d.text("session.cookie_path", s.cookie_path);
  d.text("session.cookie_domain", s.cookie_domain);
  d.flag("session.cookie_secure", s.cookie_secure);
  d.flag("session.cookie_httponly", s.cookie_httponly);
  d.text("session.cookie_samesite", s.cookie_samesite);
  d.flag("session.lazy_write", s.lazy_write);
  d.text("session.cache_limiter", s.cache_limiter);
  d.number("session.cache_expire", s.cache_expire.count());  // minutes, as PHP's
  d.text("session.serialize_handler", s.serialize_handler);
  d.text("session.key_prefix", s.key_prefix);
  d.flag("session.lock", s.lock);
  d.text("session.lock_key_style", s.lock_key_style);
  d.seconds("session.lock_expire", s.lock_expire);
  d.millis("session.lock_wait", s.lock_wait);
  d.number("session.lock_retries", s.lock_retries);
  d.number("session.lock_waiters", s.lock_waiters);
  d.millis("session.memcached_timeout", s.memcached_timeout);
  d.number("session.replicas", s.replicas);
  d.number("session.compress_threshold", s.compress_threshold);
}

void dump_pool(Dump& d, const pool::PoolConfig& p) {
  d.section(p.name);
  d.text("prefix", p.prefix);
  d.text("user", p.user);
  d.text("group", p.group);
  d.text("listen", p.listen);
  d.number("listen.backlog", p.listen_backlog);
  d.text("listen.owner", p.listen_owner);
  d.text("listen.group", p.listen_group);
  d.text("listen.mode", p.listen_mode);
  d.text("listen.allowed_clients", joined(p.listen_allowed_clients));
  d.text("listen.acl_users", joined(p.listen_acl_users));
  d.text("listen.acl_groups", joined(p.listen_acl_groups));
  d.text("pm", std::string(pool::to_string(p.pm)));
  d.number("pm.max_children", p.pm_max_children);
  d.number("pm.start_servers", p.pm_start_servers);
  d.number("pm.min_spare_servers", p.pm_min_spare_servers);
  d.number("pm.max_spare_servers", p.pm_max_spare_servers);
  d.number("pm.max_spawn_rate", p.pm_max_spawn_rate);
  d.number("pm.process_idle_timeout", p.pm_process_idle_timeout.count());
  d.number("pm.max_requests", p.pm_max_requests);
  d.number("pm.max_memory", static_cast<long long>(p.pm_max_memory));
  d.text("pm.status_path", p.pm_status_path);
  d.text("pm.status_listen", p.pm_status_listen);
  d.text("ping.path", p.ping_path);
  d.text("ping.response", p.ping_path.empty() ? "" : p.ping_response);
  d.text("access.log", p.access_log);
  d.text("access.format", p.access_format);
  for (const auto& path : p.access_suppress_paths) d.text("access.suppress_path[]", path);
  d.text("slowlog", p.slowlog);
  d.seconds("request_slowlog_timeout", p.request_slowlog_timeout);
  d.seconds("request_terminate_timeout", p.request_terminate_timeout);
  d.number("rlimit_files", p.rlimit_files);
  d.flag("catch_workers_output", p.catch_workers_output);
  d.flag("decorate_workers_output", p.decorate_workers_output);
  d.flag("clear_env", p.clear_env);
  for (const auto& [name, value] : p.env) d.text("env[" + name + "]", value);
  d.number("pm.threads_per_child", p.threads_per_child);
  d.number("pm.queue_per_child", p.effective_queue_per_child());
  d.number("pm.max_pending_heads", p.pm_max_pending_heads);
  d.millis("request_head_first_byte_timeout", p.request_head_first_byte_timeout);
  d.millis("pm.queue_timeout", p.pm_queue_timeout);
  d.flag("pm.reject_when_full", p.pm_reject_when_full);
  dump_session(d, p);
  d.text("sql.dsn", without_password(p.sql_dsn));
  d.text("sql.servers", p.sql_servers);
  d.number("sql.pool_size", p.effective_sql_pool_size());
  d.millis("sql.connect_timeout", p.sql_connect_timeout);
  d.millis("sql.read_timeout", p.sql_read_timeout);
  d.millis("sql.write_timeout", p.sql_write_timeout);
  d.text("cache.servers", p.effective_cache_servers());
  d.seconds("cache.ttl", p.cache_ttl);
  d.end_section();
}

}  // namespace

std::vector<std::string> dump_config(const pool::Config& config) {
  Dump d;
  dump_global(d, config.global);
  for (const auto& p : config.pools) dump_pool(d, p);
  return d.take();
}

}  // namespace cppfpm::server
